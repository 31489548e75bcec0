// Any Node process. Loads what an evaluation compares against: reference captions and (for ShapesWorld)
// scenes, keyed by image file name.
// [Note: accepted formats]
//   refs:   {"file_name": ["caption", …], …}  or COCO captions JSON
//           {"images": [{"id", "file_name"}], "annotations": [{"image_id", "caption"}]}
//   scenes: {"file_name": scene, …}, or [{"file_name", …scene}], or {"scenes": either of those}, or
//           {"images": [{"file_name", …scene}]}; a scene is {background|bg, objects: [{shape, colour|color,
//           size, x|cx, y|cy}]} (a few spellings are accepted because generators differ; anything else is an
//           error naming the file and the entry).
// Keys are compared by base name, so "test/000001.png" and "000001.png" refer to the same image.
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import type { Scene, SceneObject } from './shapesworld-truth'

export type Refs = Map<string, string[]>

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown
  } catch (err) {
    throw new Error(`cannot read JSON from ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

export function keyOf(fileName: string): string {
  return basename(fileName)
}

/** Parse refs from an already-decoded JSON value (either accepted format). */
export function parseRefs(json: unknown, source = 'refs'): Refs {
  const out: Refs = new Map()
  if (isRecord(json) && Array.isArray(json.annotations)) {
    const names = new Map<string, string>()
    if (Array.isArray(json.images)) {
      for (const im of json.images) {
        if (isRecord(im) && im.id !== undefined) names.set(String(im.id), typeof im.file_name === 'string' ? im.file_name : String(im.id))
      }
    }
    for (const a of json.annotations) {
      if (!isRecord(a) || typeof a.caption !== 'string' || a.image_id === undefined) throw new Error(`${source}: COCO annotation without image_id and caption`)
      const key = keyOf(names.get(String(a.image_id)) ?? String(a.image_id))
      const list = out.get(key) ?? []
      list.push(a.caption)
      out.set(key, list)
    }
    return out
  }
  if (isRecord(json)) {
    for (const [k, v] of Object.entries(json)) {
      if (!Array.isArray(v) || !v.every((c) => typeof c === 'string')) throw new Error(`${source}: "${k}" is not a list of captions (expected {"file_name": [captions…]} or COCO captions JSON)`)
      out.set(keyOf(k), v as string[])
    }
    return out
  }
  throw new Error(`${source}: expected {"file_name": [captions…]} or COCO captions JSON`)
}

export function loadRefs(path: string): Refs {
  return parseRefs(readJson(path), path)
}

function num(o: Record<string, unknown>, ...keys: string[]): number | undefined {
  for (const k of keys) if (typeof o[k] === 'number') return o[k]
  return undefined
}

function str(o: Record<string, unknown>, ...keys: string[]): string | undefined {
  for (const k of keys) if (typeof o[k] === 'string') return o[k]
  return undefined
}

export function parseScene(v: unknown, where: string): Scene {
  if (!isRecord(v)) throw new Error(`${where}: scene is not an object`)
  const background = str(v, 'background', 'bg')
  if (!background || !Array.isArray(v.objects)) throw new Error(`${where}: scene needs "background" and "objects"`)
  const objects: SceneObject[] = v.objects.map((o, i) => {
    if (!isRecord(o)) throw new Error(`${where}: object ${i} is not an object`)
    let x = num(o, 'x', 'cx')
    let y = num(o, 'y', 'cy')
    const centre = o.center ?? o.centre
    if ((x === undefined || y === undefined) && Array.isArray(centre) && typeof centre[0] === 'number' && typeof centre[1] === 'number') {
      x = centre[0]
      y = centre[1]
    }
    const shape = str(o, 'shape')
    const colour = str(o, 'colour', 'color')
    const size = str(o, 'size')
    if (!shape || !colour || !size || x === undefined || y === undefined) throw new Error(`${where}: object ${i} needs shape, colour, size, x, y`)
    return { shape, colour, size, x, y }
  })
  return { background, objects }
}

export function parseScenes(json: unknown, source = 'scenes'): Map<string, Scene> {
  const out = new Map<string, Scene>()
  let body: unknown = json
  if (isRecord(body) && body.scenes !== undefined) body = body.scenes
  else if (isRecord(body) && Array.isArray(body.images)) body = body.images
  if (Array.isArray(body)) {
    body.forEach((entry, i) => {
      if (!isRecord(entry)) throw new Error(`${source}: entry ${i} is not an object`)
      const name = str(entry, 'file_name', 'file', 'image')
      if (!name) throw new Error(`${source}: entry ${i} has no file_name`)
      out.set(keyOf(name), parseScene(entry.scene ?? entry, `${source}: ${name}`))
    })
    return out
  }
  if (isRecord(body)) {
    for (const [k, v] of Object.entries(body)) out.set(keyOf(k), parseScene(v, `${source}: ${k}`))
    return out
  }
  throw new Error(`${source}: expected scenes keyed by file name`)
}

export function loadScenes(path: string): Map<string, Scene> {
  return parseScenes(readJson(path), path)
}
