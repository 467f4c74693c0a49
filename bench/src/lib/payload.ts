/**
 * A realistic event body: nested maps, text with accents, symbols and emoji, integers including
 * 13-digit millisecond timestamps, floats, arrays, booleans and nulls. Its size grows with
 * `items` (4 items ≈ 1 KiB of CBOR, 349 ≈ 64 KiB). Deterministic, so runs compare.
 */
export function makePayload(items: number): Record<string, unknown> {
  const lines = []
  for (let i = 0; i < items; i++) {
    lines.push({
      sku: `SKU-${100000 + i}`,
      label: i % 3 === 0 ? 'Café crème ☕ grande' : 'Standard widget, blue',
      quantity: i % 17,
      unitPrice: 9.99 + i / 100,
      reservedAt: 1732800000000 + i * 1000,
      inStock: i % 2 === 0,
      discount: null,
      dimensions: [12.5, 4, i],
      warehouse: { site: 'Lyon-Part-Dieu', zone: `Z${i % 9}`, automated: true },
    })
  }
  return {
    id: 'evt-7f3c9a12-5b1e-4d2a-9c8f-0e6b1a2d3c4e',
    type: 'OrderPlaced',
    occurredAt: 1732800000000,
    source: { service: 'checkout', instance: 'checkout-3', region: 'eu-west-3' },
    customer: { name: 'Zoé Müller-Łukasiewicz', email: 'zoe@example.fr', vip: false, score: -12 },
    note: 'Livraison après 18h, merci ! 🚚',
    total: 1234.56,
    lines,
  }
}
