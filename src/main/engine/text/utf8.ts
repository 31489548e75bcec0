// Any process (pure). UTF-8 decoding for byte-level BPE output that drops what is not UTF-8.
// [Note: BPE fragments] A byte-level BPE decoder (CLIP's, GPT-2's) can emit token sequences whose bytes are
// not UTF-8: a random-weight or undertrained decoder stops in the middle of a multi-byte character, or puts
// a continuation byte first. TextDecoder and Buffer turn each such fragment into U+FFFD, which then shows in
// a caption as "�". A caption is text for people and training tools, so invalid fragments are dropped
// instead (each maximal invalid subpart, as WHATWG's decoder would replace it), and the spaces around a
// dropped fragment collapse into one. Valid text, a genuine U+FFFD included, is decoded unchanged.

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when the byte there starts none. */
function sequenceAt(b: Uint8Array, i: number): number {
  const x = b[i]!
  if (x < 0x80) return 1
  let need: number
  let lo = 0x80
  let hi = 0xbf
  if (x >= 0xc2 && x <= 0xdf) need = 1
  else if (x >= 0xe0 && x <= 0xef) {
    need = 2
    if (x === 0xe0) lo = 0xa0
    if (x === 0xed) hi = 0x9f
  } else if (x >= 0xf0 && x <= 0xf4) {
    need = 3
    if (x === 0xf0) lo = 0x90
    if (x === 0xf4) hi = 0x8f
  } else return 0
  for (let k = 1; k <= need; k++) {
    const c = b[i + k]
    if (c === undefined || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return 0
  }
  return need + 1
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** The bytes as text with every invalid UTF-8 fragment dropped (see [Note: BPE fragments]). */
export function decodeUtf8Dropping(bytes: Uint8Array): string {
  const kept = new Uint8Array(bytes.length)
  let n = 0
  let dropped = false
  for (let i = 0; i < bytes.length; ) {
    const len = sequenceAt(bytes, i)
    if (len === 0) {
      dropped = true
      i++
      continue
    }
    for (let k = 0; k < len; k++) kept[n++] = bytes[i + k]!
    i += len
  }
  const text = decoder.decode(kept.subarray(0, n))
  return dropped ? text.replace(/ {2,}/g, ' ') : text
}

/** For decoders that hand back text, not bytes (@huggingface/tokenizers' ByteLevel and ByteFallback decode
 *  with a non-fatal TextDecoder): U+FFFD removed, spaces around it collapsed. A genuine U+FFFD in the
 *  vocabulary is indistinguishable there and is dropped too; no caption means it. */
export function dropReplacementChars(text: string): string {
  return text.includes('\ufffd') ? text.replace(/\ufffd/g, '').replace(/ {2,}/g, ' ').trim() : text
}
