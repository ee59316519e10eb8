import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { packagePath } from '@connrca/contracts/package-root'

export interface Asset {
  type: string
  body: Buffer
  /** Cacheable by the browser (vendored, versioned by the package). */
  immutable: boolean
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
}

/**
 * The dashboard's files, read once at start: web/ plus uPlot from node_modules, so the page
 * works offline and a missing file fails at startup rather than in someone's browser.
 */
export function loadAssets(): Map<string, Asset> {
  // Found from the package root, not from this file: in dist/ this code is part of a bundle chunk.
  const webDir = packagePath('services', 'api', 'web')
  const assets = new Map<string, Asset>()
  const add = (urlPath: string, file: string, immutable = false) => {
    assets.set(urlPath, {
      type: TYPES[path.extname(file)] ?? 'application/octet-stream',
      body: readFileSync(file),
      immutable,
    })
  }
  add('/', path.join(webDir, 'index.html'))
  add('/app.js', path.join(webDir, 'app.js'))
  add('/style.css', path.join(webDir, 'style.css'))
  add('/favicon.svg', path.join(webDir, 'favicon.svg'))
  add('/incident.js', path.join(webDir, 'incident.js'))
  // served for every /incidents/<id> (see server.ts): the link in each notification
  add('/incidents/', path.join(webDir, 'incident.html'))
  // uPlot is a dependency of the connrca package itself, so it resolves from the root in every layout.
  const require = createRequire(packagePath('package.json'))
  const uplotDir = path.dirname(require.resolve('uplot/package.json'))
  add('/vendor/uplot.iife.min.js', path.join(uplotDir, 'dist', 'uPlot.iife.min.js'), true)
  add('/vendor/uplot.min.css', path.join(uplotDir, 'dist', 'uPlot.min.css'), true)
  return assets
}

/** Only same-origin scripts, styles and requests; uPlot sets styles through the CSSOM, which CSP allows. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
