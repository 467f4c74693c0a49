/**
 * Deepest nesting of arrays, maps/objects and tags that `encode` writes and `decode` accepts.
 * cbor2 and Python's json fail on deep input only when they run out of stack (eventail then
 * crashes, defect B2, docs/eventail-defects.md); a fixed limit turns such a body into a `DecodeError` instead.
 */
export const MAX_DEPTH = 1000
