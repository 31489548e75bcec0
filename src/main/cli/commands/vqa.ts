// CLI (plain Node). `vqa <image> --question Q [--answers a,b,…] [--type T] [--template "…{answer}…"]`:
// zero-shot VQA by CLIP scoring of answer statements; one JSON object on stdout.
import { StudioError } from '@shared/errors'
import { cliEngine, oneOf, packDirFrom } from '../cli-support'
import { emit, parse, type CliCommand } from '../command'

export const vqaCommand: CliCommand = {
  name: 'vqa',
  summary: 'Zero-shot VQA: rank candidate answers with CLIP (JSON on stdout)',
  usage: `usage: caption-studio vqa <image> --question "what colour is the square?" [--answers red,blue]
       [--type colour|shape|count|background|size|other] [--template "a {answer} square"]
       [--align procrustes|ridge|off] [--pack DIR]`,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      question: { type: 'string' },
      answers: { type: 'string' },
      type: { type: 'string' },
      template: { type: 'string' },
      align: { type: 'string' },
      pack: { type: 'string' }
    })
    const file = positionals[0]
    if (!file) throw new StudioError('invalid_input', 'no image given')
    if (!values.question) throw new StudioError('invalid_input', '--question is required')
    const packDir = packDirFrom(values.pack)
    const client = cliEngine()
    try {
      const r = await client.call('vqa', {
        packDir,
        file,
        request: {
          question: values.question,
          answers: values.answers?.split(',').map((s) => s.trim()).filter(Boolean),
          type: oneOf(values.type, ['colour', 'shape', 'count', 'background', 'size', 'other'] as const, 'type'),
          template: values.template,
          align: oneOf(values.align, ['procrustes', 'ridge', 'off'] as const, 'align')
        }
      })
      emit({ file, ...r })
    } finally {
      await client.dispose()
    }
    return 0
  }
}
