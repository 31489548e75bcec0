// CLI (plain Node). `export --format txt|jsonl|coco|csv [--out DIR] [--merge skip|overwrite|append]`.
import { resolve } from 'node:path'
import * as v from 'valibot'
import { ExportRequest } from '@shared/contract/exports'
import { createServices } from '../../services/services'
import { defaultDataDir } from '../../services/data-dir'
import { emit, parse, type CliCommand } from '../command'

export const exportCommand: CliCommand = {
  name: 'export',
  summary: 'Export accepted captions (.txt sidecars, metadata.jsonl, COCO, CSV)',
  usage: `usage: caption-studio export --format txt|jsonl|coco|csv [--out DIR] [--root ID] [--merge skip|overwrite|append] [--data-dir DIR]

  txt     sidecars with the image's base name; next to the images, or mirrored under --out
  jsonl   Hugging Face metadata.jsonl (file_name, text), in the root folder or --out
  coco    COCO captions JSON (images, annotations)
  csv     file_name,text
  Existing files are skipped unless --merge overwrite (or append, for .txt sidecars).`,
  async run(argv) {
    const { values } = parse(argv, {
      format: { type: 'string' },
      out: { type: 'string' },
      root: { type: 'string' },
      merge: { type: 'string' },
      'data-dir': { type: 'string' }
    }, false)
    const request = v.parse(ExportRequest, {
      format: values.format,
      ...(values.out ? { outDir: resolve(values.out) } : {}),
      ...(values.root ? { rootId: Number(values.root) } : {}),
      ...(values.merge ? { merge: values.merge } : {})
    })
    const services = createServices(values['data-dir'] ?? defaultDataDir(), 'cli')
    try {
      emit(await services.call('exports.run', request))
      return 0
    } finally {
      await services.close()
    }
  }
}
