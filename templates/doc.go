// Package templates holds bluegreen's GitLab CI/CD components: one template
// per mode (render.yml, sync.yml, approve.yml, verify.yml, promote.yml,
// rollback.yml, drift.yml) and pipeline.yml, which wires the whole release.
// GitLab reads the YAML files; this package has no Go code, only the tests
// that keep them right: every template and the project's .gitlab-ci.yml
// validate against GitLab's CI schema, the templates' variables and flags
// exist in the binary's configuration with the same defaults, they follow
// the component contract (stage and job-prefix inputs, an image pinned to
// the component version, the lock, the environment action, the artifacts),
// and README.md's input tables are generated from them (go test
// ./templates -update rewrites them).
//
// The end-to-end runs of these templates through gitlab-ci-local are in
// internal/pipeline. The RBAC manifest the jobs need is in kubernetes/.
package templates
