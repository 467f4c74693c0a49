// The payload filters live in @am/cli-kit, shared with am-console.
export { type FieldFilter, matchesFilters, parseFieldFilter } from '@am/cli-kit'
