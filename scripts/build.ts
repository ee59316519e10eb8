/**
 * `pnpm build`: the `connrca` command as JavaScript in dist/ — one esbuild bundle of the CLI
 * and every workspace package and npm dependency it imports, split at the CLI's lazy
 * `import()`s so `connrca --help` loads a few KB, `analyze` never loads Kafka or Azure code and
 * `connrca service <name>` loads its own stage only.
 * Why a bundle and not `tsc` output: measured, README "Install" ("How it is built").
 *
 * Kept out of the bundle, resolved from node_modules next to the installed package: chdb (a
 * native addon that finds its shared library relative to itself), lz4-napi (a native addon
 * with a prebuilt binary per platform) and the files read at run
 * time (dashboard, migrations, uPlot), which stay at the same paths as in a checkout (see
 * packages/contracts/src/package-root.ts).
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { type BuildResult, build as esbuild, type Metafile, type Plugin } from 'esbuild'

export const ROOT = path.resolve(import.meta.dirname, '..')
export const DIST = path.join(ROOT, 'dist')
export const ENTRY = path.join(ROOT, 'services', 'cli', 'src', 'main.ts')
/** The `bin` of the package: what `connrca` runs once installed, and what `connrca service` runs in tests. */
export const DIST_CLI = path.join(DIST, 'cli.js')
/** The inputs of the last build (esbuild's metafile), to tell whether dist/ is current. */
const LAST_BUILD = path.join(ROOT, 'node_modules', '.cache', 'connrca-build.json')
/** Runtime `dependencies` of the root package.json: installed beside the bundle, never inlined. */
export const EXTERNAL = ['chdb', 'lz4-napi']

/** Sources of the workspace's own packages and services (not node_modules, not the build's entry). */
const WORKSPACE_SOURCE = /^(packages|services)\/[^/]+\/src\//

/**
 * The workspace's modules do nothing when imported (no bare `import './x'`, no top-level calls:
 * checked by test/package/bundle.test.ts). Telling esbuild so (as `"sideEffects": false` in a
 * package.json would) lets it drop what a command never uses although the packages' index.ts
 * re-export it: without this, `analyze` reaches kafkajs through @connrca/transport and the Azure
 * SDK through @connrca/pipeline's sources, and loads 3.4 MB of JavaScript instead of 1.3 MB.
 */
const workspaceWithoutSideEffects: Plugin = {
  name: 'workspace-without-side-effects',
  setup(b) {
    const again = Symbol('resolved by esbuild')
    b.onResolve({ filter: /^(\.|@connrca\/)/ }, async (args) => {
      if (args.pluginData === again || args.kind === 'entry-point') return undefined
      const { importer, namespace, resolveDir, kind, with: w } = args
      const r = await b.resolve(args.path, { importer, namespace, resolveDir, kind, with: w, pluginData: again })
      if (r.errors.length > 0 || r.external || !WORKSPACE_SOURCE.test(path.relative(ROOT, r.path))) return undefined
      return { path: r.path, namespace: r.namespace, sideEffects: false }
    })
  },
}

/**
 * zod's namespace re-exports its 60 message locales (366 KB of its 722 KB in the bundle), and
 * `import { z } from 'zod'` keeps the whole namespace (`z.locales`, `z.core.locales`), so every
 * process compiled them. connrca uses zod's default English messages only: `locales` holds `en`.
 */
const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic|core)[\\/]/.test(args.importer)
        ? { path: path.join(args.resolveDir, '..', 'locales', 'en-only.js'), namespace: 'zod-locales' }
        : undefined,
    )
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(path.join(path.dirname(args.path), 'en.js'))}`,
      resolveDir: path.dirname(args.path),
    }))
  },
}

export async function build(opts: { outdir?: string } = {}): Promise<BuildResult<{ metafile: true }>> {
  const outdir = opts.outdir ?? DIST
  await rm(outdir, { recursive: true, force: true })
  const result = await esbuild({
    absWorkingDir: ROOT,
    entryPoints: { cli: ENTRY },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    external: EXTERNAL,
    plugins: [workspaceWithoutSideEffects, zodEnglishOnly],
    logLevel: 'warning',
    // Bundled CommonJS dependencies (kafkajs, @azure/*) call require() for Node built-ins.
    banner: {
      js: "import { createRequire as __connrcaRequire } from 'node:module'; const require = __connrcaRequire(import.meta.url);",
    },
  })
  if (outdir === DIST) {
    await mkdir(path.dirname(LAST_BUILD), { recursive: true })
    await writeFile(LAST_BUILD, JSON.stringify(Object.keys(result.metafile.inputs)))
  }
  return result
}

/**
 * Builds dist/ unless it is newer than every file the last build read (the test suite calls
 * this once per run; a build takes seconds, a check milliseconds). A new source file is always
 * imported by an edited one, so the inputs of the last build are enough to notice it.
 */
export async function ensureBuilt(): Promise<'built' | 'current'> {
  if (existsSync(DIST_CLI) && existsSync(LAST_BUILD)) {
    const built = statSync(DIST_CLI).mtimeMs
    const inputs = JSON.parse(readFileSync(LAST_BUILD, 'utf8')) as string[]
    const stale = [...inputs, 'scripts/build.ts', 'package.json'].some((f) => {
      const file = path.join(ROOT, f)
      return !existsSync(file) || statSync(file).mtimeMs > built
    })
    if (!stale) return 'current'
  }
  await build()
  return 'built'
}

/** Bytes per output file, for the build log. */
export function outputSizes(meta: Metafile): { file: string; bytes: number }[] {
  return Object.entries(meta.outputs)
    .filter(([file]) => file.endsWith('.js'))
    .map(([file, o]) => ({ file, bytes: o.bytes }))
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const started = performance.now()
  const result = await build()
  const js = outputSizes(result.metafile)
  const total = js.reduce((n, f) => n + f.bytes, 0)
  process.stdout.write(
    `dist/: ${js.length} JavaScript files, ${(total / 1e6).toFixed(1)} MB, in ${Math.round(performance.now() - started)} ms\n`,
  )
}
