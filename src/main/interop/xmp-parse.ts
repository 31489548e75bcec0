// Process-free (pure). Parsing an XMP packet safely into a namespace-resolved element tree with source
// positions, and reading the caption and keyword fields photo libraries use from it.
// [Note: hostile XMP] A sidecar comes from anywhere, so before fast-xml-parser sees it: a size cap (the
// caller checks the file size), DOCTYPE and ENTITY declarations are refused outright (an XMP packet never has
// one, and entity expansion is how "billion laughs" bombs work), nesting is bounded (`maxNestedTags`: real
// packets are about ten deep), and XMLValidator must accept it as well-formed (the parser alone is lenient
// about mismatched tags). Only the five XML entities and numeric character references are decoded.
// [Note: XMP fields] Elements are matched by namespace URI, never by prefix. Read: dc:description (Lang Alt;
// x-default first, else the first language; a plain literal is taken as x-default), dc:subject (Bag, Seq or
// Alt items, or one literal), lr:hierarchicalSubject ("A|B|C") and digiKam:TagsList ("A/B/C"). Properties
// written as attributes of rdf:Description (the RDF shorthand Lightroom uses for simple values) count too.
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { StudioError } from '@shared/errors'

export const NS = {
  rdf: 'http://www.w3.org/1999/02/22-rdf-syntax-ns#',
  dc: 'http://purl.org/dc/elements/1.1/',
  lr: 'http://ns.adobe.com/lightroom/1.0/',
  digiKam: 'http://www.digikam.org/ns/1.0/',
  x: 'adobe:ns:meta/',
  xml: 'http://www.w3.org/XML/1998/namespace'
} as const

export const XMP_MAX_BYTES = 8 * 1024 * 1024
export const XMP_MAX_DEPTH = 64

export interface XNode {
  /** The qualified name as written (`dc:subject`). */
  name: string
  prefix: string
  local: string
  /** Namespace URI ('' when the prefix is unbound). */
  ns: string
  attrs: Record<string, string>
  children: XNode[]
  /** Concatenated text children (entities decoded). */
  text: string
  /** Offsets in the source string: `start` at '<', `end` just after the closing '>'. */
  start: number
  end: number
  /** prefix → namespace URI in scope at this element (including its own declarations). */
  scope: ReadonlyMap<string, string>
}

const XML_ENTITIES = { amp: '&', apos: "'", gt: '>', lt: '<', quot: '"' }
const META = XMLParser.getMetaDataSymbol() as unknown as symbol

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  captureMetaData: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  ignorePiTags: true,
  // The parser takes an entity table here (OrderedObjParser: an object replaces the HTML table and turns on
  // numeric references); its typings only say boolean. Only the XML five are named entities.
  htmlEntities: XML_ENTITIES as unknown as boolean,
  maxNestedTags: XMP_MAX_DEPTH
})

type RawNode = Record<string, unknown> & { ':@'?: Record<string, string> }

/** Parse an XMP packet (a sidecar, or the XMP block embedded in an image) into its element tree. */
export function parseXmp(xml: string, label: string): XNode[] {
  if (/<!DOCTYPE|<!ENTITY/.test(xml)) throw new StudioError('invalid_input', `${label}: DOCTYPE/ENTITY declarations are refused (an XMP packet has none; entity expansion is how XML bombs work)`)
  let raw: RawNode[]
  try {
    raw = parser.parse(xml) as RawNode[]
  } catch (err) {
    const msg = (err as Error).message
    throw new StudioError('invalid_input', `${label}: ${/nested/i.test(msg) ? `nesting deeper than ${XMP_MAX_DEPTH} levels (refused as a possible XML bomb)` : `not well-formed XML (${msg})`}`)
  }
  const valid = XMLValidator.validate(xml)
  if (valid !== true) throw new StudioError('invalid_input', `${label}: not well-formed XML (line ${valid.err.line}: ${valid.err.msg})`)
  // The validator lets an undefined entity (`&nbsp;`) or a bare `&` through; XML does not.
  const bad = /&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)[^\s;<]{0,20};?/.exec(xml.replace(/<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>/g, ''))
  if (bad) throw new StudioError('invalid_input', `${label}: not well-formed XML (undefined entity or bare "&": ${bad[0]})`)
  return toNodes(raw, new Map())
}

function toNodes(raw: readonly RawNode[], scope: ReadonlyMap<string, string>): XNode[] {
  const out: XNode[] = []
  for (const r of raw) {
    const name = Object.keys(r).find((k) => k !== ':@')
    if (name === undefined || name === '#text') continue
    const attrs = r[':@'] ?? {}
    let own: Map<string, string> | null = null
    for (const [k, val] of Object.entries(attrs)) {
      if (k === 'xmlns' || k.startsWith('xmlns:')) (own ??= new Map(scope)).set(k === 'xmlns' ? '' : k.slice(6), val)
    }
    const here = own ?? scope
    const colon = name.indexOf(':')
    const prefix = colon >= 0 ? name.slice(0, colon) : ''
    const kids = (r[name] as RawNode[] | undefined) ?? []
    const meta = (r as Record<symbol, { startIndex?: number; endIndex?: number } | undefined>)[META]
    out.push({
      name,
      prefix,
      local: colon >= 0 ? name.slice(colon + 1) : name,
      ns: prefix === 'xml' ? NS.xml : (here.get(prefix) ?? ''),
      attrs,
      children: toNodes(kids, here),
      text: kids.map((k) => (typeof k['#text'] === 'string' ? k['#text'] : '')).join(''),
      start: meta?.startIndex ?? -1,
      end: meta?.endIndex ?? -1,
      scope: here
    })
  }
  return out
}

export function isEl(n: XNode, ns: string, local: string): boolean {
  return n.ns === ns && n.local === local
}

/** The rdf:RDF element (under x:xmpmeta, or at the top), or null. */
export function findRdf(nodes: readonly XNode[]): XNode | null {
  for (const n of nodes) {
    if (isEl(n, NS.rdf, 'RDF')) return n
    if (isEl(n, NS.x, 'xmpmeta') || isEl(n, NS.x, 'xapmeta')) return findRdf(n.children)
  }
  return null
}

/** An attribute of `n` in namespace `ns` with local name `local`, resolved through `n`'s scope. */
export function attrNs(n: XNode, ns: string, local: string): string | undefined {
  for (const [k, val] of Object.entries(n.attrs)) {
    const colon = k.indexOf(':')
    if (colon < 0 || k.startsWith('xmlns')) continue
    const p = k.slice(0, colon)
    if (k.slice(colon + 1) === local && (p === 'xml' ? NS.xml : n.scope.get(p)) === ns) return val
  }
  return undefined
}

export interface LangText {
  lang: string
  text: string
}

export interface XmpFields {
  descriptions: LangText[]
  subject: string[]
  hierarchical: string[]
  tagsList: string[]
}

/** The items of an RDF array property (Bag/Seq/Alt), or its single literal. */
export function arrayItems(prop: XNode): string[] {
  const container = prop.children.find((c) => c.ns === NS.rdf && (c.local === 'Bag' || c.local === 'Seq' || c.local === 'Alt'))
  if (container) return container.children.filter((c) => isEl(c, NS.rdf, 'li')).map((li) => li.text.trim()).filter(Boolean)
  return prop.children.length === 0 && prop.text.trim() ? [prop.text.trim()] : []
}

function langItems(prop: XNode): LangText[] {
  const alt = prop.children.find((c) => c.ns === NS.rdf && (c.local === 'Alt' || c.local === 'Bag' || c.local === 'Seq'))
  if (!alt) return prop.children.length === 0 && prop.text.trim() ? [{ lang: 'x-default', text: prop.text.trim() }] : []
  return alt.children
    .filter((c) => isEl(c, NS.rdf, 'li') && c.text.trim())
    .map((li) => ({ lang: attrNs(li, NS.xml, 'lang') ?? 'x-default', text: li.text.trim() }))
}

export function readXmpFields(nodes: readonly XNode[]): XmpFields {
  const out: XmpFields = { descriptions: [], subject: [], hierarchical: [], tagsList: [] }
  const rdf = findRdf(nodes)
  if (!rdf) return out
  for (const d of rdf.children.filter((c) => isEl(c, NS.rdf, 'Description'))) {
    const attrDesc = attrNs(d, NS.dc, 'description')
    if (attrDesc?.trim()) out.descriptions.push({ lang: 'x-default', text: attrDesc.trim() })
    const attrSubj = attrNs(d, NS.dc, 'subject')
    if (attrSubj?.trim()) out.subject.push(attrSubj.trim())
    for (const p of d.children) {
      if (isEl(p, NS.dc, 'description')) out.descriptions.push(...langItems(p))
      else if (isEl(p, NS.dc, 'subject')) out.subject.push(...arrayItems(p))
      else if (isEl(p, NS.lr, 'hierarchicalSubject')) out.hierarchical.push(...arrayItems(p))
      else if (isEl(p, NS.digiKam, 'TagsList')) out.tagsList.push(...arrayItems(p))
    }
  }
  return out
}

/** The caption: x-default first, else the first language given. */
export function pickDescription(descriptions: readonly LangText[]): string | null {
  return (descriptions.find((d) => d.lang.toLowerCase() === 'x-default') ?? descriptions[0])?.text ?? null
}

/** Flat keywords: dc:subject plus the leaves of the hierarchical lists (duplicates are dropped later,
 *  case-insensitively, by cleanKeywords). */
export function flatKeywords(f: XmpFields): string[] {
  return [...f.subject, ...f.hierarchical.map((h) => h.split('|').pop()!), ...f.tagsList.map((t) => t.split('/').pop()!)]
}
