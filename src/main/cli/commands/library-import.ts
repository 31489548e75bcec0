// CLI (plain Node). `library import`: the flags and how they become an interop import request.
import { resolve } from 'node:path'
import * as v from 'valibot'
import { ImportRequest } from '@shared/contract/interop'
import { StudioError } from '@shared/errors'

export const IMPORT_USAGE = `  import --format txt|caption|jsonl|coco|csv|xmp|embedded [--overwrite] [--dry-run] <file-or-folder>
                  import captions and keywords; prints one JSON summary (counts, conflicts, errors).
                  --dry-run previews without writing; --overwrite replaces differing accepted captions
                  (the old text stays in the history). More: --root ID (match one root), --images-dir DIR
                  (what file names are relative to), --file-column/--text-column/--tags-column NAME,
                  --delimiter ',' ';' 'tab' '|', --text-as caption|keywords, --strip-trigger WORD,
                  --no-keywords`

export const IMPORT_OPTIONS = {
  format: { type: 'string' },
  overwrite: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  root: { type: 'string' },
  'images-dir': { type: 'string' },
  'file-column': { type: 'string' },
  'text-column': { type: 'string' },
  'tags-column': { type: 'string' },
  delimiter: { type: 'string' },
  'text-as': { type: 'string' },
  'strip-trigger': { type: 'string' },
  'no-keywords': { type: 'boolean' }
} as const

type Values = { [K in keyof typeof IMPORT_OPTIONS]?: (typeof IMPORT_OPTIONS)[K]['type'] extends 'string' ? string : boolean }

export function importRequestFrom(values: Values, paths: readonly string[]): { request: ImportRequest; dryRun: boolean } {
  if (paths.length !== 1) throw new StudioError('invalid_input', 'library import needs exactly one file or folder')
  if (!values.format) throw new StudioError('invalid_input', 'library import needs --format txt|caption|jsonl|coco|csv|xmp|embedded')
  const parsed = v.safeParse(ImportRequest, {
    format: values.format,
    // [Note: absolute paths] the shell's folder is the CLI's base
    path: resolve(paths[0]!),
    overwrite: values.overwrite === true,
    keywords: values['no-keywords'] !== true,
    ...(values.root ? { rootId: Number(values.root) } : {}),
    ...(values['images-dir'] ? { imagesDir: resolve(values['images-dir']) } : {}),
    ...(values['file-column'] ? { fileColumn: values['file-column'] } : {}),
    ...(values['text-column'] ? { textColumn: values['text-column'] } : {}),
    ...(values['tags-column'] ? { tagsColumn: values['tags-column'] } : {}),
    ...(values.delimiter ? { delimiter: values.delimiter === 'tab' ? '\t' : values.delimiter } : {}),
    ...(values['text-as'] ? { textAs: values['text-as'] } : {}),
    ...(values['strip-trigger'] ? { stripTrigger: values['strip-trigger'] } : {})
  })
  if (!parsed.success) throw new StudioError('invalid_input', `library import: ${parsed.issues.map((i) => `${i.path?.map((p) => String(p.key)).join('.') ?? ''} ${i.message}`.trim()).join('; ')}`)
  return { request: parsed.output, dryRun: values['dry-run'] === true }
}
