// Just enough semver for the ranges we publish: `^x.y.z`, `x.x`/`x.y.x`, `>=a <b`, `a || b`.
type Version = [number, number, number]

function parse(v: string): Version {
  const [a = 0, b = 0, c = 0] = v.split('-')[0]?.split('.').map(Number) ?? []
  return [a, b, c]
}

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2]
}

function one(version: Version, range: string): boolean {
  const r = range.trim()
  if (r === '*' || r === '') return true
  const xr = /^(\d+)(?:\.(\d+|x))?(?:\.(x))?$/.exec(r)
  if (xr && (r.includes('x') || !r.includes('.'))) {
    return version[0] === Number(xr[1]) && (xr[2] === undefined || xr[2] === 'x' || version[1] === Number(xr[2]))
  }
  if (r.startsWith('^')) {
    const min = parse(r.slice(1))
    const max: Version = min[0] > 0 ? [min[0] + 1, 0, 0] : min[1] > 0 ? [0, min[1] + 1, 0] : [0, 0, min[2] + 1]
    return compare(version, min) >= 0 && compare(version, max) < 0
  }
  return r.split(/\s+/).every((part) => {
    const m = /^(>=|<=|>|<|=)?(.+)$/.exec(part)
    const c = compare(version, parse(m?.[2] ?? part))
    switch (m?.[1]) {
      case '>=':
        return c >= 0
      case '<=':
        return c <= 0
      case '>':
        return c > 0
      case '<':
        return c < 0
      default:
        return c === 0
    }
  })
}

/** Whether `version` is in `range`. */
export function satisfies(version: string, range: string): boolean {
  return range.split('||').some((r) => one(parse(version), r))
}
