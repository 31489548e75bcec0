// Process-free (pure). Reading CSV/TSV as RFC 4180 defines it, for the importers.
// [Note: CSV reader] No CSV parser is installed, and the format is small enough to read exactly: fields are
// separated by the delimiter, records by CRLF (LF or CR alone are accepted too); a field may be quoted, and
// a quoted field may hold delimiters, quotes (doubled: "") and line breaks — a caption with a newline is one
// field. A quote inside an unquoted field is kept as a character (spreadsheets write such files); text after
// a closing quote, or a quote left open at the end of the file, makes the whole file an error, because every
// field after it would be misread. A leading byte-order mark is dropped and blank lines are skipped.
import { StudioError } from '@shared/errors'

export interface CsvRow {
  /** 1-based line on which the record starts (a quoted newline makes a record span lines). */
  line: number
  fields: string[]
}

export function parseCsv(text: string, delimiter = ','): CsvRow[] {
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') throw new StudioError('invalid_input', 'a CSV delimiter is one character other than a quote or a line break')
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  const rows: CsvRow[] = []
  let fields: string[] = []
  let field = ''
  /** The current field was quoted (so an empty one still counts, and a row of one `""` is not blank). */
  let quoted = false
  let line = 1
  let rowLine = 1
  let i = 0
  const n = src.length
  const endField = () => {
    fields.push(field)
    field = ''
  }
  const endRow = () => {
    const blank = fields.length === 0 && field === '' && !quoted
    endField()
    if (!blank) rows.push({ line: rowLine, fields })
    fields = []
    quoted = false
  }
  while (i < n) {
    const ch = src[i]!
    if (ch === '"' && field === '' && !quoted) {
      // A quoted field: read to the closing quote.
      const openLine = line
      quoted = true
      i++
      let closed = false
      while (i < n) {
        const c = src[i]!
        if (c === '"') {
          if (src[i + 1] === '"') {
            field += '"'
            i += 2
            continue
          }
          closed = true
          i++
          break
        }
        if (c === '\n' || (c === '\r' && src[i + 1] !== '\n')) line++
        field += c
        i++
      }
      if (!closed) throw new StudioError('invalid_input', `line ${openLine}: a quoted field is never closed`)
      const next = src[i]
      if (next !== undefined && next !== delimiter && next !== '\n' && next !== '\r') throw new StudioError('invalid_input', `line ${line}: unexpected text after a closing quote`)
      continue
    }
    if (ch === delimiter) {
      endField()
      quoted = false
      i++
    } else if (ch === '\r' || ch === '\n') {
      endRow()
      i += ch === '\r' && src[i + 1] === '\n' ? 2 : 1
      line++
      rowLine = line
    } else {
      field += ch
      i++
    }
  }
  if (field !== '' || fields.length > 0 || quoted) endRow()
  return rows
}

/** The index of the first header that matches one of `names` (case-insensitive, trimmed), or -1. */
export function findColumn(header: readonly string[], names: readonly string[]): number {
  const norm = header.map((h) => h.trim().toLowerCase())
  for (const name of names) {
    const k = norm.indexOf(name.trim().toLowerCase())
    if (k >= 0) return k
  }
  return -1
}
