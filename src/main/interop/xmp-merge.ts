// Process-free (pure). XMP write-back that merges: the caption goes into dc:description (x-default) and
// keywords into dc:subject, and everything else in the sidecar stays exactly as it was.
// [Note: surgical XMP merge] Re-serialising a parsed sidecar would reorder attributes, change quotes,
// whitespace, the packet header and padding of every field another program wrote. Instead the sidecar is
// parsed (guarded, xmp-parse.ts) only to learn *where* dc:description and dc:subject are — fast-xml-parser's
// captureMetaData gives each element's start and end offset in the text — and the text is spliced there:
// - the inner text of the existing `rdf:li xml:lang="x-default"` is replaced (other languages untouched), or
//   an x-default item is inserted first in the rdf:Alt, or a plain-literal dc:description becomes a Lang Alt;
// - keywords missing from the rdf:Bag/Seq (case-insensitively) are appended after its last item, indented
//   like it; existing items are never removed or rewritten;
// - a missing property is inserted next to its sibling dc: property, or in a new rdf:Description (same
//   rdf:about, own xmlns:dc) after the last one.
// The only lexing by hand is finding the '>' that ends a start tag the parser already accepted (quote-aware).
// Every bit outside the spliced ranges is byte-for-byte the original. The result is parsed again and must
// read back the intended caption and keywords, else the sidecar is refused and left untouched.
import { StudioError } from '@shared/errors'
import { attrNs, arrayItems, findRdf, isEl, NS, parseXmp, pickDescription, readXmpFields, type XNode } from './xmp-parse'

export interface XmpUpdate {
  /** The caption for dc:description x-default; null leaves the description alone. */
  description: string | null
  /** `set` replaces an existing x-default text; `ifMissing` only fills a sidecar that has no description. */
  descriptionMode: 'set' | 'ifMissing'
  /** Keywords to be present in dc:subject (added when missing; none are removed). */
  keywords: readonly string[]
}

/** Text content for XML: the three markup characters escaped, characters XML 1.0 forbids dropped. */
export function xmlText(s: string): string {
  let out = ''
  for (const ch of s) {
    const c = ch.codePointAt(0)!
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0xfffe || c === 0xffff) continue
    out += ch === '&' ? '&amp;' : ch === '<' ? '&lt;' : ch === '>' ? '&gt;' : ch
  }
  return out
}

const xmlAttr = (s: string) => xmlText(s).replace(/"/g, '&quot;')

/** A fresh sidecar with only the studio's fields. */
export function newXmp(update: XmpUpdate): string {
  const props: string[] = []
  if (update.description) props.push(`   <dc:description>\n    <rdf:Alt>\n     <rdf:li xml:lang="x-default">${xmlText(update.description)}</rdf:li>\n    </rdf:Alt>\n   </dc:description>`)
  if (update.keywords.length) props.push(`   <dc:subject>\n    <rdf:Bag>\n${update.keywords.map((k) => `     <rdf:li>${xmlText(k)}</rdf:li>`).join('\n')}\n    </rdf:Bag>\n   </dc:subject>`)
  return (
    `<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?>\n<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Caption Studio">\n <rdf:RDF xmlns:rdf="${NS.rdf}">\n` +
    `  <rdf:Description rdf:about=""\n    xmlns:dc="${NS.dc}">\n${props.join('\n')}\n  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>\n<?xpacket end="w"?>\n`
  )
}

interface Splice {
  start: number
  end: number
  text: string
}

/** Offset just after the '>' of `n`'s start tag, and whether the element is empty (`<a/>`). */
function startTag(xml: string, n: XNode): { end: number; selfClosing: boolean } {
  let quote = ''
  for (let i = n.start + 1; i < n.end; i++) {
    const ch = xml[i]!
    if (quote) {
      if (ch === quote) quote = ''
    } else if (ch === '"' || ch === "'") quote = ch
    else if (ch === '>') return { end: i + 1, selfClosing: xml[i - 1] === '/' }
  }
  throw new StudioError('internal', `cannot find the end of <${n.name}>`)
}

/** Offset of the '<' of `n`'s end tag. */
function endTagStart(xml: string, n: XNode): number {
  return xml.lastIndexOf('</', n.end - 1)
}

/** Whitespace written before `n` (since its previous sibling or its parent's start tag), for indenting. */
function indentBefore(xml: string, parent: XNode, n: XNode): string {
  const idx = parent.children.indexOf(n)
  const from = idx > 0 ? parent.children[idx - 1]!.end : startTag(xml, parent).end
  const gap = xml.slice(from, n.start)
  return /^\s*$/.test(gap) ? gap : ''
}

const li = (rdf: string, text: string, lang?: string) => `<${rdf}:li${lang ? ` xml:lang="${lang}"` : ''}>${xmlText(text)}</${rdf}:li>`

export function mergeXmp(existing: string, update: XmpUpdate, label = 'the sidecar'): { xml: string; changed: boolean } {
  const nodes = parseXmp(existing, label)
  const rdf = findRdf(nodes)
  if (!rdf) throw new StudioError('invalid_input', `${label}: no rdf:RDF element (not an XMP packet)`)
  const r = rdf.prefix
  const descriptions = rdf.children.filter((c) => isEl(c, NS.rdf, 'Description'))
  for (const d of descriptions) {
    if (update.description !== null && attrNs(d, NS.dc, 'description') !== undefined) throw new StudioError('unsupported', `${label}: dc:description is written as an attribute; left untouched`)
    if (update.keywords.length && attrNs(d, NS.dc, 'subject') !== undefined) throw new StudioError('unsupported', `${label}: dc:subject is written as an attribute; left untouched`)
  }
  const find = (local: string) => {
    for (const d of descriptions) {
      const p = d.children.find((c) => isEl(c, NS.dc, local))
      if (p) return { desc: d, prop: p }
    }
    return null
  }
  const before = readXmpFields(nodes)
  const splices: Splice[] = []
  const desc = find('description')
  const subj = find('subject')
  const wantDesc = update.description !== null && !(update.descriptionMode === 'ifMissing' && before.descriptions.length > 0) && pickDescription(before.descriptions.filter((d) => d.lang.toLowerCase() === 'x-default')) !== update.description
  const present = new Set(before.subject.map((k) => k.toLowerCase()))
  const newKeywords = [...new Set(update.keywords)].filter((k) => {
    const key = k.toLowerCase()
    if (present.has(key)) return false
    present.add(key)
    return true
  })
  // `indent` is the newline + indentation of the property's line ("" for a one-line packet).
  const nl = (indent: string, extra: number) => (indent ? indent + ' '.repeat(extra) : '')
  const altXml = (p: string, indent: string) =>
    `<${p}:description>${nl(indent, 1)}<${r}:Alt>${nl(indent, 2)}${li(r, update.description!, 'x-default')}${nl(indent, 1)}</${r}:Alt>${nl(indent, 0)}</${p}:description>`
  const bagXml = (p: string, items: readonly string[], indent: string) =>
    `<${p}:subject>${nl(indent, 1)}<${r}:Bag>${items.map((k) => nl(indent, 2) + li(r, k)).join('')}${nl(indent, 1)}</${r}:Bag>${nl(indent, 0)}</${p}:subject>`

  if (wantDesc && desc) {
    const prop = desc.prop
    const alt = prop.children.find((c) => isEl(c, NS.rdf, 'Alt'))
    const items = alt?.children.filter((c) => isEl(c, NS.rdf, 'li')) ?? []
    const xdef = items.find((c) => (attrNs(c, NS.xml, 'lang') ?? '').toLowerCase() === 'x-default')
    if (xdef) {
      const st = startTag(existing, xdef)
      splices.push(st.selfClosing ? { start: xdef.start, end: xdef.end, text: li(xdef.prefix, update.description!, 'x-default') } : { start: st.end, end: endTagStart(existing, xdef), text: xmlText(update.description!) })
    } else if (alt && !startTag(existing, alt).selfClosing) {
      const first = items[0]
      const at = startTag(existing, alt).end
      splices.push({ start: at, end: at, text: (first ? indentBefore(existing, alt, first) : '') + li(alt.prefix, update.description!, 'x-default') })
    } else {
      splices.push({ start: prop.start, end: prop.end, text: altXml(prop.prefix, lineIndent(existing, prop)) })
    }
  }
  if (newKeywords.length && subj) {
    const prop = subj.prop
    const bag = prop.children.find((c) => c.ns === NS.rdf && (c.local === 'Bag' || c.local === 'Seq' || c.local === 'Alt'))
    const items = bag?.children.filter((c) => isEl(c, NS.rdf, 'li')) ?? []
    const last = items[items.length - 1]
    if (bag && last) {
      const sep = indentBefore(existing, bag, last)
      splices.push({ start: last.end, end: last.end, text: newKeywords.map((k) => sep + li(last.prefix, k)).join('') })
    } else {
      splices.push({ start: prop.start, end: prop.end, text: bagXml(prop.prefix, [...arrayItems(prop), ...newKeywords], lineIndent(existing, prop)) })
    }
  }
  const missingDesc = wantDesc && !desc
  const missingSubj = newKeywords.length > 0 && !subj
  if (missingDesc || missingSubj) {
    const anchor = desc ?? subj
    if (anchor) {
      // Next to the sibling dc: property, in its rdf:Description, with its prefix and indentation.
      const sep = indentBefore(existing, anchor.desc, anchor.prop)
      const ind = lineIndent(existing, anchor.prop)
      if (missingDesc) splices.push({ start: anchor.prop.start, end: anchor.prop.start, text: altXml(anchor.prop.prefix, ind) + sep })
      else splices.push({ start: anchor.prop.end, end: anchor.prop.end, text: sep + bagXml(anchor.prop.prefix, newKeywords, ind) })
    } else {
      const lastDesc = descriptions[descriptions.length - 1]
      const about = lastDesc ? (attrNs(lastDesc, NS.rdf, 'about') ?? '') : ''
      const descIndent = (lastDesc && lineIndent(existing, lastDesc)) || '\n '
      const propIndent = descIndent + ' '
      const props = [...(missingDesc ? [altXml('dc', propIndent)] : []), ...(missingSubj ? [bagXml('dc', newKeywords, propIndent)] : [])].map((p) => propIndent + p).join('')
      const block = `<${r}:Description ${r}:about="${xmlAttr(about)}" xmlns:dc="${NS.dc}">${props}${descIndent}</${r}:Description>`
      const at = lastDesc ? lastDesc.end : startTag(existing, rdf).end
      splices.push({ start: at, end: at, text: (lastDesc ? indentBefore(existing, rdf, lastDesc) || descIndent : descIndent) + block })
    }
  }
  if (splices.length === 0) return { xml: existing, changed: false }
  splices.sort((a, b) => b.start - a.start)
  let xml = existing
  let limit = Infinity
  for (const s of splices) {
    if (s.end > limit) throw new StudioError('internal', `${label}: overlapping edits`)
    xml = xml.slice(0, s.start) + s.text + xml.slice(s.end)
    limit = s.start
  }
  verify(xml, update, label, wantDesc)
  return { xml, changed: true }
}

/** The newline plus the indentation of the line `n` starts on ("\n" + spaces), or "" when on one line. */
function lineIndent(xml: string, n: XNode): string {
  const lineStart = xml.lastIndexOf('\n', n.start - 1)
  if (lineStart < 0) return ''
  const lead = xml.slice(lineStart + 1, n.start)
  return /^[ \t]*$/.test(lead) ? '\n' + lead : ''
}

function verify(xml: string, update: XmpUpdate, label: string, wantDesc: boolean): void {
  const after = readXmpFields(parseXmp(xml, label))
  const xdef = pickDescription(after.descriptions.filter((d) => d.lang.toLowerCase() === 'x-default'))
  const have = new Set(after.subject.map((k) => k.toLowerCase()))
  if ((wantDesc && xdef !== update.description?.trim()) || update.keywords.some((k) => !have.has(k.toLowerCase()))) {
    throw new StudioError('internal', `${label}: the merged sidecar did not read back as written; left untouched`)
  }
}
