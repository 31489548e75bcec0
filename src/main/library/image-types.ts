// Any Node process (pure). [Note: image types] The one list of files the studio treats as images, with the
// content type each is served as. The truth is what sharp's prebuilt libvips decodes: JPEG, PNG, WebP,
// TIFF, GIF and AVIF (its HEIF loader carries only the AV1 decoder, so .heic, HEVC inside, does not open,
// and there is no BMP loader). test/unit/image-types.test.ts decodes every listed type and checks each
// against sharp's own list of input suffixes. The library scanner, the CLI's folder expansion and the eval
// folders all read this list, so a file is an image to all of them or to none.
import { extname } from 'node:path'

/** Extension (lowercase, with the dot) → the content type it is served as. */
export const IMAGE_CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.gif': 'image/gif',
  '.avif': 'image/avif'
}

export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(Object.keys(IMAGE_CONTENT_TYPES))

/** Whether a file name (or path) has one of the image extensions, in any letter case. */
export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.has(extname(name).toLowerCase())
}
