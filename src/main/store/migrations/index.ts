// Main process (plain Node). The ordered list of migrations; each has its own test in test/integration.
import { migration001 } from './001_initial'
import { migration002 } from './002_tags'
import { migration003 } from './003_job_progress'
import { migration004 } from './004_embeddings'
import type { Migration } from './types'

export const MIGRATIONS: readonly Migration[] = [migration001, migration002, migration003, migration004]
