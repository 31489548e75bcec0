// The RFC 4180 reader: quoting, doubled quotes, quoted delimiters and line breaks, line endings, blank
// lines, BOM, delimiters, and the errors that make a file unreadable. Cross-checked against the studio's own
// CSV writer (toCsv) on awkward texts.
import { describe, expect, it } from 'vitest'
import { findColumn, parseCsv } from '../../src/main/interop/csv-read'
import { toCsv } from '../../src/main/exports/file-export'

const fields = (text: string, d?: string) => parseCsv(text, d).map((r) => r.fields)

describe('parseCsv', () => {
  it('splits plain fields and records on CRLF, LF and CR', () => {
    expect(fields('a,b,c\r\n1,2,3\n4,5,6\r7,8,9')).toEqual([
      ['a', 'b', 'c'],
      ['1', '2', '3'],
      ['4', '5', '6'],
      ['7', '8', '9']
    ])
  })

  it('reads quoted fields with delimiters, doubled quotes and line breaks; reports the starting line', () => {
    const rows = parseCsv('file,text\r\nx.jpg,"one, two"\r\ny.jpg,"say ""hi""\r\nsecond line\nthird"\r\nz.jpg,end\r\n')
    expect(rows.map((r) => r.fields)).toEqual([
      ['file', 'text'],
      ['x.jpg', 'one, two'],
      ['y.jpg', 'say "hi"\r\nsecond line\nthird'],
      ['z.jpg', 'end']
    ])
    expect(rows.map((r) => r.line)).toEqual([1, 2, 3, 6])
  })

  it('keeps empty fields, empty quoted fields and a trailing empty field', () => {
    expect(fields('a,,c\n"",x,\n,\n')).toEqual([
      ['a', '', 'c'],
      ['', 'x', ''],
      ['', '']
    ])
    expect(fields('""')).toEqual([['']])
  })

  it('skips blank lines, drops a BOM, needs no final newline', () => {
    expect(fields('\uFEFFh1,h2\n\n\r\nv1,v2')).toEqual([
      ['h1', 'h2'],
      ['v1', 'v2']
    ])
    expect(fields('')).toEqual([])
  })

  it('keeps a quote inside an unquoted field as a character, and whitespace as written', () => {
    expect(fields('a 5" print , b\n')).toEqual([['a 5" print ', ' b']])
  })

  it('uses another delimiter (tab, semicolon) and leaves commas alone then', () => {
    expect(fields('a\tb, c\n"x\ty"\tz', '\t')).toEqual([
      ['a', 'b, c'],
      ['x\ty', 'z']
    ])
    expect(fields('a;"b;c"', ';')).toEqual([['a', 'b;c']])
  })

  it('refuses a quote never closed and text after a closing quote, naming the line', () => {
    expect(() => parseCsv('a,b\n1,"open\n2,3\n')).toThrow(/line 2: a quoted field is never closed/)
    expect(() => parseCsv('a,b\n\n1,"x"y\n')).toThrow(/line 3: unexpected text after a closing quote/)
    expect(() => parseCsv('a', '"')).toThrow(/delimiter/)
  })

  it('reads back exactly what the CSV exporter writes', () => {
    const texts = ['plain', 'comma, inside', 'quote " inside', '"quoted"', ' leading space', 'multi\nline\r\ntext', 'ünïcødé ✓']
    const rows = texts.map((text, k) => ({ imageId: k + 1, rootId: 1, rootPath: '/r', relPath: `d/img ${k}.jpg`, width: 1, height: 1, text, captionId: k + 1 }))
    const back = fields(toCsv(rows))
    expect(back[0]).toEqual(['file_name', 'text'])
    expect(back.slice(1)).toEqual(rows.map((r) => [r.relPath, r.text]))
  })
})

describe('findColumn', () => {
  it('finds the first matching name, case-insensitively and trimmed', () => {
    expect(findColumn(['Image ', 'TEXT', 'caption'], ['caption', 'text'])).toBe(2)
    expect(findColumn(['Image ', 'TEXT'], ['file_name', 'image'])).toBe(0)
    expect(findColumn(['a'], ['b'])).toBe(-1)
  })
})
