// CLI (plain Node). `export --format txt|jsonl|coco|csv|xmp [--out DIR] [--merge skip|overwrite|append] …`.
import { resolve } from 'node:path'
import * as v from 'valibot'
import { ExportRequest } from '@shared/contract/exports'
import { createServices } from '../../services/services'
import { defaultDataDir } from '../../services/data-dir'
import { emit, parse, type CliCommand } from '../command'

export const exportCommand: CliCommand = {
  name: 'export',
  summary: 'Export accepted captions (.txt sidecars, metadata.jsonl, COCO, CSV, XMP sidecars)',
  usage: `usage: caption-studio export --format txt|jsonl|coco|csv|xmp [--out DIR] [--root ID] [--merge skip|overwrite|append]
                             [--xmp-naming ext|replace] [--tags] [--concepts] [--trigger WORD] [--caption-ext txt|caption|cap]
                             [--dry-run] [--data-dir DIR]

  txt     sidecars with the image's base name; next to the images, or mirrored under --out. kohya style with
          --trigger WORD (written first) and --tags (keywords comma-joined after the caption); --caption-ext
  jsonl   Hugging Face metadata.jsonl (file_name, text; tags with --tags), in the root folder or --out
  coco    COCO captions JSON (images, annotations)
  csv     file_name,text (,tags with --tags)
  xmp     XMP sidecars: caption in dc:description (x-default), keywords (and --concepts) in dc:subject;
          photo.jpg.xmp (--xmp-naming ext, darktable/digiKam) or photo.xmp (replace, Lightroom).
          --merge overwrite merges into existing sidecars keeping all their other fields; append only
          fills a missing caption; skip (default) leaves existing sidecars alone. Images are never modified.
  Existing files are skipped unless --merge overwrite (or append, for .txt sidecars).
  --dry-run lists what would be written (planned) and writes nothing.`,
  async run(argv) {
    const { values } = parse(
      argv,
      {
        format: { type: 'string' },
        out: { type: 'string' },
        root: { type: 'string' },
        merge: { type: 'string' },
        'xmp-naming': { type: 'string' },
        tags: { type: 'boolean' },
        concepts: { type: 'boolean' },
        trigger: { type: 'string' },
        'caption-ext': { type: 'string' },
        'dry-run': { type: 'boolean' },
        'data-dir': { type: 'string' }
      },
      false
    )
    const request = v.parse(ExportRequest, {
      format: values.format,
      ...(values.out ? { outDir: resolve(values.out) } : {}),
      ...(values.root ? { rootId: Number(values.root) } : {}),
      ...(values.merge ? { merge: values.merge } : {}),
      ...(values['xmp-naming'] ? { xmpNaming: values['xmp-naming'] } : {}),
      ...(values.trigger ? { triggerWord: values.trigger } : {}),
      ...(values['caption-ext'] ? { captionExt: values['caption-ext'] } : {}),
      tags: values.tags === true,
      concepts: values.concepts === true,
      dryRun: values['dry-run'] === true
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
