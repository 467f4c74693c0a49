/**
 * Payload schemas at run time: the Standard Schema v1 interface (implemented by zod ≥ 3.24,
 * valibot ≥ 1, arktype…), declared here structurally so that `@am/service` depends on no schema
 * library, and the checks made with it.
 */

/** A schema implementing Standard Schema v1 (`~standard`): zod, valibot, arktype… */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': StandardSchemaV1.Props<Input, Output>
}

export declare namespace StandardSchemaV1 {
  /** The properties of the `~standard` key. */
  interface Props<Input = unknown, Output = Input> {
    readonly version: 1
    readonly vendor: string
    readonly validate: (value: unknown) => Result<Output> | Promise<Result<Output>>
    readonly types?: Types<Input, Output> | undefined
    /** Standard JSON Schema, when the library implements it (zod ≥ 4.2, valibot's adapter…). */
    readonly jsonSchema?: JsonSchemaConverter | undefined
  }
  type Result<Output> = SuccessResult<Output> | FailureResult
  interface SuccessResult<Output> {
    readonly value: Output
    readonly issues?: undefined
  }
  interface FailureResult {
    readonly issues: ReadonlyArray<Issue>
  }
  interface Issue {
    readonly message: string
    readonly path?: ReadonlyArray<PropertyKey | PathSegment> | undefined
  }
  interface PathSegment {
    readonly key: PropertyKey
  }
  interface Types<Input = unknown, Output = Input> {
    readonly input: Input
    readonly output: Output
  }
  /** Standard JSON Schema's converter (`~standard.jsonSchema`). */
  interface JsonSchemaConverter {
    readonly input: (options: { readonly target: string }) => Record<string, unknown>
    readonly output: (options: { readonly target: string }) => Record<string, unknown>
  }
  /** The payload type a schema gives (its output). */
  type InferOutput<S extends StandardSchemaV1> = NonNullable<S['~standard']['types']>['output']
  /** The type a schema accepts (its input). */
  type InferInput<S extends StandardSchemaV1> = NonNullable<S['~standard']['types']>['input']
}

/** Any Standard Schema. */
// biome-ignore lint/suspicious/noExplicitAny: the widest schema type, so that every schema's input and output fit
export type AnySchema = StandardSchemaV1<any, any>

/** One failing place of a payload: its path (`items.0.name`, `''` for the payload itself) and why. */
export interface PayloadIssue {
  readonly path: string
  readonly message: string
}

/**
 * The payload of the error result a service returns for a command whose payload does not match
 * its schema (status `error`): `error` is always `'invalid_payload'`.
 * @example
 * { error: 'invalid_payload', message: 'the payload of welcome.Send does not match its schema', issues: [{ path: 'userId', message: 'Invalid input: expected string, received undefined' }] }
 */
export interface InvalidPayloadResult {
  readonly error: 'invalid_payload'
  readonly message: string
  readonly issues: readonly PayloadIssue[]
}

/** @internal A check's outcome: the (possibly transformed) value, or the issues. */
export type Checked =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly issues: PayloadIssue[] }

/** @internal True when `value` looks like a Standard Schema v1. */
export function isStandardSchema(value: unknown): value is AnySchema {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false
  const props = (value as { '~standard'?: { version?: unknown; validate?: unknown } })['~standard']
  return typeof props === 'object' && props !== null && props.version === 1 && typeof props.validate === 'function'
}

/**
 * Validates `value`: synchronously when the schema is synchronous (no promise made), else a promise.
 * A schema that throws counts as one issue at the root.
 * @internal
 */
export function check(schema: AnySchema, value: unknown): Checked | Promise<Checked> {
  let result: StandardSchemaV1.Result<unknown> | Promise<StandardSchemaV1.Result<unknown>>
  try {
    result = schema['~standard'].validate(value)
  } catch (error) {
    return thrown(error)
  }
  if (result instanceof Promise) return result.then(checked, thrown)
  return checked(result)
}

function checked(result: StandardSchemaV1.Result<unknown>): Checked {
  if (result.issues === undefined) return { ok: true, value: result.value }
  return { ok: false, issues: result.issues.map(toIssue) }
}

function thrown(error: unknown): Checked {
  return {
    ok: false,
    issues: [{ path: '', message: `the schema threw: ${(error as Error)?.message ?? String(error)}` }],
  }
}

function toIssue(issue: StandardSchemaV1.Issue): PayloadIssue {
  const path = (issue.path ?? [])
    .map((segment) => String(typeof segment === 'object' && segment !== null ? segment.key : segment))
    .join('.')
  return { path, message: issue.message }
}

/** @internal The issues in one line, for logs and error messages: `userId: Required; items.0: …`. */
export function formatIssues(issues: readonly PayloadIssue[]): string {
  return issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join('; ')
}

/** @internal The error result's payload for an invalid command. */
export function invalidPayloadResult(routingKey: string, issues: readonly PayloadIssue[]): InvalidPayloadResult {
  return { error: 'invalid_payload', message: `the payload of ${routingKey} does not match its schema`, issues }
}
