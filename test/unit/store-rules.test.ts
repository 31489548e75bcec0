// The small store rules written once: caption whitespace (shared/caption-text.ts, applied by the contract
// and the captions repository alike, and the same rule as find & replace's `clean`), the text search with
// LIKE escaping (store/sql.ts, shared by the grid's listIds and the review query) and the store timestamp.
import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { isBlankCaption, normalizeCaption } from '../../src/shared/caption-text'
import { CaptionText } from '../../src/shared/contract/captions'
import { ReviewQuery, TagText } from '../../src/shared/contract/review'
import { clean } from '../../src/main/review/replace'
import { CaptionsRepo } from '../../src/main/store/captions-repo'
import { openDatabase } from '../../src/main/store/db'
import { ImagesRepo } from '../../src/main/store/images-repo'
import { ReviewRepo } from '../../src/main/store/review-repo'
import { likeContains } from '../../src/main/store/sql'

const MESSY = ['  a  red\tsquare \n', 'a\u00a0b\u2003c', '\r\n\t', 'one', ' x  y  z ']

describe('caption whitespace', () => {
  it('collapses every whitespace run to one space and trims the ends', () => {
    expect(normalizeCaption('  a  red\tsquare \n')).toBe('a red square')
    expect(normalizeCaption('a\u00a0b\u2003c')).toBe('a b c')
    expect(normalizeCaption('\r\n\t')).toBe('')
    expect(isBlankCaption(' \n ')).toBe(true)
    expect(isBlankCaption(' a ')).toBe(false)
  })

  it('is what the contract, the repository and find & replace store', () => {
    const db = openDatabase(':memory:')
    const images = new ImagesRepo(db)
    const captions = new CaptionsRepo(db)
    const root = images.addRoot('/lib')
    const imageId = images.insert({ rootId: root.id, relPath: 'a.png', hash: 'h', bytes: 1, mtimeMs: 0, width: 1, height: 1, orientation: null, format: 'png', error: null, scanGen: 1 }, null)
    for (const raw of MESSY.filter((s) => !isBlankCaption(s))) {
      expect(v.parse(CaptionText, raw)).toBe(normalizeCaption(raw))
      expect(v.parse(TagText, raw)).toBe(normalizeCaption(raw))
      expect(clean(raw).text).toBe(normalizeCaption(raw))
      expect(captions.accept(imageId, raw, { kind: 'human' }, {}).caption.text).toBe(normalizeCaption(raw))
    }
    expect(() => captions.accept(imageId, ' \t ', { kind: 'human' }, {})).toThrow(/cannot be empty/)
    expect(v.safeParse(CaptionText, ' \n ').issues?.[0]?.message).toBe('a caption cannot be empty')
    expect(v.safeParse(TagText, 'x'.repeat(201)).issues?.[0]?.message).toBe('tag too long')
    db.close()
  })
})

describe('text search', () => {
  const db = openDatabase(':memory:')
  const images = new ImagesRepo(db)
  const captions = new CaptionsRepo(db)
  const review = new ReviewRepo(db)
  const root = images.addRoot('/lib')
  const add = (relPath: string, caption?: string): number => {
    const id = images.insert({ rootId: root.id, relPath, hash: relPath, bytes: 1, mtimeMs: 0, width: 1, height: 1, orientation: null, format: 'png', error: null, scanGen: 1 }, null)
    if (caption) captions.accept(id, caption, { kind: 'human' }, {})
    return id
  }
  const pct = add('50%.png')
  const plain = add('500.png')
  const under = add('x.png', 'a_b square')
  const noUnder = add('y.png', 'axb square')
  const slash = add('back\\slash.png')
  const both = (search: string) => {
    const a = images.listIds('all', search)
    const b = review.query(v.parse(ReviewQuery, { search })).ids
    expect(b).toEqual(a)
    return a
  }

  it('escapes LIKE wildcards so %, _ and \\ match only themselves', () => {
    expect(likeContains('50%_\\')).toBe('%50\\%\\_\\\\%')
    expect(both('50%')).toEqual([pct])
    expect(both('a_b')).toEqual([under])
    expect(both('back\\s')).toEqual([slash])
  })

  it('matches paths and caption texts, trims the search, and a blank search lists everything', () => {
    expect(both('  square ')).toEqual([under, noUnder])
    expect(both('500')).toEqual([plain])
    expect(both('   ')).toHaveLength(5)
  })

  it('stamps changes with the same ISO-8601 UTC text as the column defaults', () => {
    const c = captions.accept(pct, 'a caption', { kind: 'human' }, {}).caption
    const rejected = captions.reject(c.id)
    const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
    expect(c.createdAt).toMatch(iso)
    expect(rejected.updatedAt).toMatch(iso)
    expect(rejected.updatedAt >= c.createdAt).toBe(true)
  })
})
