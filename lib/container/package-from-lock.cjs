// Used by the Containerfile's dependencies and frontend stages: writes ./package.json from the root
// entry of ./package-lock.json, so `npm ci` layers are keyed on the lockfile alone and a version bump
// (which changes package.json's "version") does not re-run them. Plain CommonJS: runs before any
// npm install, with nothing but node.
const fs = require('node:fs')
const root = JSON.parse(fs.readFileSync('package-lock.json', 'utf8')).packages['']
if (!root) throw new Error('package-lock.json has no root entry (lockfileVersion 2 or 3 needed)')
const pkg = {
  name: root.name,
  version: root.version,
  private: true,
  type: 'module',
  workspaces: root.workspaces,
  dependencies: root.dependencies,
  devDependencies: root.devDependencies,
  engines: root.engines,
}
fs.writeFileSync('package.json', `${JSON.stringify(pkg, null, 2)}\n`)
