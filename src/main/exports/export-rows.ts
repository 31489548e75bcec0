// Main process (plain Node). One accepted caption as the exporters see it.
export interface ExportRow {
  imageId: number
  rootId: number
  rootPath: string
  relPath: string
  width: number | null
  height: number | null
  text: string
  captionId: number
  /** Keywords (and concepts) when the export asked for them. */
  tags?: string[]
}
