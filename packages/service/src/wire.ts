// The wire format lives in @am/protocol; these names stay importable from @am/service.
export type { Envelope, MessageKind, Refusal, ResultStatus } from '@am/protocol'
export {
  commandProperties,
  configurationProperties,
  eventProperties,
  isRefusal,
  openEnvelope,
  resultProperties,
  routingKeyOf,
} from '@am/protocol'
