/** Istio's `meshConfig.pathNormalization.normalization`; `DEFAULT` is `BASE`. */
export type PathNormalization = 'DEFAULT' | 'NONE' | 'BASE' | 'MERGE_SLASHES' | 'DECODE_AND_MERGE_SLASHES'

/** Envoy's `path_with_escaped_slashes_action`, for `%2F`, `%2f`, `%5C` and `%5c`. */
export type EscapedSlashesAction =
  | 'KEEP_UNCHANGED'
  | 'REJECT_REQUEST'
  | 'UNESCAPE_AND_REDIRECT'
  | 'UNESCAPE_AND_FORWARD'

/** The Envoy connection-manager settings a normalisation mode stands for. */
export interface PathNormalizationOptions {
  /** Envoy's `normalize_path`: RFC 3986 normalisation as Envoy does it. */
  readonly normalizePath: boolean
  /** Envoy's `merge_slashes`. */
  readonly mergeSlashes: boolean
  readonly escapedSlashesAction: EscapedSlashesAction
  /**
   * Envoy refuses a request target with a fragment (`#`) unless told to strip it
   * (`http_reject_path_with_fragment` off); Istio leaves the refusal on. Default false.
   */
  readonly stripFragment?: boolean
}

const BASE: PathNormalizationOptions = Object.freeze({
  normalizePath: true,
  mergeSlashes: false,
  escapedSlashesAction: 'KEEP_UNCHANGED',
})

const MODES: Readonly<Record<PathNormalization, PathNormalizationOptions>> = Object.freeze({
  DEFAULT: BASE,
  BASE,
  NONE: Object.freeze({ normalizePath: false, mergeSlashes: false, escapedSlashesAction: 'KEEP_UNCHANGED' }),
  MERGE_SLASHES: Object.freeze({
    normalizePath: true,
    mergeSlashes: true,
    escapedSlashesAction: 'KEEP_UNCHANGED',
  }),
  DECODE_AND_MERGE_SLASHES: Object.freeze({
    normalizePath: true,
    mergeSlashes: true,
    escapedSlashesAction: 'UNESCAPE_AND_FORWARD',
  }),
})

/** The settings Istio gives Envoy for a `pathNormalization` mode. */
export function pathNormalizationOptions(mode: PathNormalization = 'DEFAULT'): PathNormalizationOptions {
  return MODES[mode]
}

export type PathRefusal =
  | 'fragment'
  | 'nul'
  | 'invalid-character'
  | 'invalid-percent-encoding'
  | 'escaped-slash'

/**
 * The normalised path (used both for authorization and as the path forwarded), the query as
 * received (`''` or starting with `?`), and whether Envoy's UNESCAPE_AND_REDIRECT would answer
 * with a redirect to it; or why the target was refused (the server answers 400).
 */
export type NormalizedPath =
  | { readonly ok: true; readonly path: string; readonly query: string; readonly redirect: boolean }
  | { readonly ok: false; readonly reason: PathRefusal }

function refuse(reason: PathRefusal): NormalizedPath {
  return { ok: false, reason }
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30
  if (code >= 0x41 && code <= 0x46) return code - 0x37
  if (code >= 0x61 && code <= 0x66) return code - 0x57
  return -1
}

/** RFC 3986 unreserved: ALPHA, DIGIT, `-`, `.`, `_`, `~`; these escapes are decoded by BASE. */
function isUnreserved(c: number): boolean {
  return (
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0x5f ||
    c === 0x7e
  )
}

/** Characters Envoy's path canonicaliser (Chromium's) percent-encodes: `"` `<` `>` `` ` `` `{` `}`. */
function mustEscape(c: number): boolean {
  return c === 0x22 || c === 0x3c || c === 0x3e || c === 0x60 || c === 0x7b || c === 0x7d
}

const HEX = '0123456789ABCDEF'
const DOT_SEGMENT = /\/\.\.?(?:\/|$)/
const SLASH_RUN = /\/{2,}/g

/**
 * Normalises a request target (`req.url`) as Istio's `pathNormalization` makes Envoy do before
 * routing and authorization, in Envoy's order:
 * 1. the fragment is refused (or stripped) and the query set aside, untouched;
 * 2. the path is checked: NUL (raw or `%00`), control characters, spaces and non-ASCII are
 *    refused, and so is a `%` not followed by two hex digits;
 * 3. escaped slashes (`%2F`, `%5C`, any case) are kept, refused, or decoded, per the action;
 * 4. with `normalizePath`: escapes of unreserved characters are decoded (once: `%252e` stays),
 *    `\` becomes `/`, a missing leading `/` is added, and `.` and `..` segments are resolved
 *    (never above the root); other escapes keep their spelling;
 * 5. with `mergeSlashes`: runs of `/` become one.
 */
export function normalizePath(target: string, options: PathNormalizationOptions = BASE): NormalizedPath {
  let end = target.length
  const hash = target.indexOf('#')
  if (hash >= 0) {
    if (options.stripFragment !== true) return refuse('fragment')
    end = hash
  }
  const questionMark = target.indexOf('?')
  const pathEnd = questionMark >= 0 && questionMark < end ? questionMark : end
  const query = pathEnd < end ? target.slice(pathEnd, end) : ''
  for (let i = 0; i < query.length; i++) {
    const c = query.charCodeAt(i)
    if (c === 0) return refuse('nul')
    if (c < 0x20 || c === 0x7f) return refuse('invalid-character')
  }

  const normalize = options.normalizePath
  const action = options.escapedSlashesAction
  let rewrite = false
  let escapedSlash = false
  for (let i = 0; i < pathEnd; i++) {
    const c = target.charCodeAt(i)
    if (c === 0) return refuse('nul')
    if (c <= 0x20 || c >= 0x7f) return refuse('invalid-character')
    if (c === 0x25) {
      const hi = i + 2 < pathEnd ? hexValue(target.charCodeAt(i + 1)) : -1
      const lo = hi >= 0 ? hexValue(target.charCodeAt(i + 2)) : -1
      if (lo < 0) return refuse('invalid-percent-encoding')
      const decoded = hi * 16 + lo
      if (decoded === 0) return refuse('nul')
      if (decoded === 0x2f || decoded === 0x5c) escapedSlash = true
      rewrite = true
      i += 2
    } else if (normalize && (c === 0x5c || mustEscape(c))) {
      rewrite = true
    }
  }
  if (escapedSlash && action === 'REJECT_REQUEST') return refuse('escaped-slash')
  const unescapeSlashes = action === 'UNESCAPE_AND_FORWARD' || action === 'UNESCAPE_AND_REDIRECT'

  let path = target.slice(0, pathEnd)
  if (rewrite) {
    let out = ''
    for (let i = 0; i < pathEnd; i++) {
      const c = target.charCodeAt(i)
      if (c === 0x25) {
        const decoded = hexValue(target.charCodeAt(i + 1)) * 16 + hexValue(target.charCodeAt(i + 2))
        if (unescapeSlashes && decoded === 0x2f) out += '/'
        else if (unescapeSlashes && decoded === 0x5c) out += normalize ? '/' : '\\'
        else if (normalize && isUnreserved(decoded)) out += String.fromCharCode(decoded)
        else out += target.slice(i, i + 3)
        i += 2
      } else if (normalize && c === 0x5c) {
        out += '/'
      } else if (normalize && mustEscape(c)) {
        out += `%${HEX[c >> 4]}${HEX[c & 15]}`
      } else {
        out += target[i]
      }
    }
    path = out
  }
  if (normalize) {
    if (path.charCodeAt(0) !== 0x2f) path = `/${path}`
    if (DOT_SEGMENT.test(path)) path = removeDotSegments(path)
  }
  if (options.mergeSlashes && path.includes('//')) path = path.replace(SLASH_RUN, '/')
  return { ok: true, path, query, redirect: escapedSlash && action === 'UNESCAPE_AND_REDIRECT' }
}

/** RFC 3986 §5.2.4 on an absolute path: `..` never climbs above the root. */
function removeDotSegments(path: string): string {
  const segments = path.split('/')
  const out: string[] = []
  let endsInDirectory = false
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i] as string
    endsInDirectory = segment === '.' || segment === '..'
    if (segment === '..') out.pop()
    else if (segment !== '.') out.push(segment)
  }
  return endsInDirectory && out.length > 0 ? `/${out.join('/')}/` : `/${out.join('/')}`
}
