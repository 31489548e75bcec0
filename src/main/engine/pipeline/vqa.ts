// Engine worker (plain Node) — also callable in-process. Zero-shot VQA by CLIP scoring (MacCap extends its
// pipeline to VQA, methods.md §3.4; here answers are ranked, not generated).
// [Note: zero-shot VQA] The question picks a type (colour, shape, count, background, size, other) by
// keywords; candidate answers come from the caller or from the pack's concept vocabulary of that category
// (falling back to the ShapesWorld word lists filtered by the tokenizer's vocabulary). Each answer is turned
// into a statement by a template (caller-given with "{answer}", or derived from the question: e.g. "what
// colour is the square" → "a {answer} square"), embedded with the text encoder, and scored by the cosine
// with the (optionally realigned) image embedding; probabilities are softmax(cos/τ), τ = 0.01.
import { StudioError } from '@shared/errors'
import type { Engine } from '../worker/engine'
import { dot, softmax } from '../math/linalg'
import type { AlignMode } from './options'
import { clipS } from '../math/scoring'

export type QuestionType = 'colour' | 'shape' | 'count' | 'background' | 'size' | 'other'

const FALLBACK: Record<Exclude<QuestionType, 'other'>, string[]> = {
  colour: ['red', 'green', 'blue', 'yellow', 'purple', 'orange'],
  shape: ['circle', 'square', 'triangle', 'star', 'diamond'],
  count: ['one', 'two', 'three'],
  background: ['gray', 'black', 'white'],
  size: ['small', 'large']
}

const CATEGORY_ALIASES: Record<string, QuestionType> = { colour: 'colour', color: 'colour', shape: 'shape', count: 'count', number: 'count', background: 'background', size: 'size' }

export function questionType(q: string): QuestionType {
  const s = q.toLowerCase()
  if (/\bbackground\b/.test(s)) return 'background'
  if (/\b(colou?r)\b/.test(s)) return 'colour'
  if (/\bhow many\b|\bnumber of\b|\bcount\b/.test(s)) return 'count'
  if (/\bshape\b|\bwhat kind\b|\bwhat is (it|this|there)\b/.test(s)) return 'shape'
  if (/\bsize\b|\bhow (big|large|small)\b|\b(big|large|small)\b.*\bor\b/.test(s)) return 'size'
  return 'other'
}

export interface VqaRequest {
  question: string
  answers?: string[]
  type?: QuestionType
  template?: string
  align?: AlignMode
}

export interface VqaResult {
  question: string
  type: QuestionType
  template: string
  answers: { answer: string; statement: string; cos: number; clipS: number; prob: number }[]
}

function answersFor(engine: Engine, type: QuestionType): string[] {
  const fromPack = engine.pack.conceptList.filter((c) => CATEGORY_ALIASES[c.category.toLowerCase()] === type).map((c) => c.word)
  if (fromPack.length) return [...new Set(fromPack)]
  if (type === 'other') return []
  return FALLBACK[type].filter((w) => engine.pack.tokenizer.hasWord(w))
}

export function deriveTemplate(question: string, type: QuestionType, known: (w: string) => boolean): string {
  const words = question.toLowerCase().replace(/[^\p{L}\p{N}\s]/gu, ' ').split(/\s+/).filter(Boolean)
  const stop = new Set(['what', 'which', 'is', 'are', 'the', 'a', 'an', 'of', 'this', 'that', 'it', 'colour', 'color', 'shape', 'size', 'how', 'many', 'there', 'in', 'image', 'picture', 'background', 'do', 'does', 'you', 'see'])
  const content = words.filter((w) => !stop.has(w) && known(w))
  const noun = content[content.length - 1] ?? 'shape'
  const adjectives = content.slice(0, -1).join(' ')
  switch (type) {
    case 'colour':
    case 'size':
      return `a {answer} ${noun}`
    case 'shape':
      return adjectives || (content.length && noun !== 'shape' && noun !== 'object') ? `a ${content.join(' ')} {answer}`.replace(/\s+/g, ' ') : 'a {answer}'
    case 'count':
      return '{answer} shapes'
    case 'background':
      return 'a shape on a {answer} background'
    default:
      return '{answer}'
  }
}

export function statement(template: string, answer: string, type: QuestionType): string {
  if (type === 'count' && template === '{answer} shapes' && answer === 'one') return 'a single shape'
  return template.replaceAll('{answer}', answer).replace(/\ba ([aeiou])/g, 'an $1')
}

export async function answerQuestion(engine: Engine, file: string, req: VqaRequest): Promise<VqaResult> {
  const type = req.type ?? questionType(req.question)
  const answers = req.answers?.length ? [...new Set(req.answers)] : answersFor(engine, type)
  if (answers.length < 2) throw new StudioError('invalid_input', `no candidate answers for a "${type}" question: pass answers`)
  const template = req.template ?? deriveTemplate(req.question, type, (w) => engine.pack.tokenizer.hasWord(w))
  if (!template.includes('{answer}')) throw new StudioError('invalid_input', 'template must contain "{answer}"')
  const [img] = await engine.embedImages([file])
  if (!img || 'error' in img) throw img?.error ?? new StudioError('internal', 'no image embedding')
  const q = engine.realign(img.embedding, req.align ?? 'off') ?? img.embedding
  const statements = answers.map((a) => statement(template, a, type))
  const embs = await engine.embedTexts(statements)
  const cos = embs.map((e) => dot(q, e))
  const probs = softmax(cos, 0.01)
  const ranked = answers.map((answer, i) => ({ answer, statement: statements[i]!, cos: cos[i]!, clipS: clipS(cos[i]!), prob: probs[i]! }))
  ranked.sort((a, b) => b.cos - a.cos)
  return { question: req.question, type, template, answers: ranked }
}
