// Package pipeline runs bluegreen's CI/CD components end to end, the way a
// GitLab runner would, and is used only by tests and the local demo
// (internal/demo).
//
// A World is one application's slice of the real servers: a Kubernetes
// namespace on the testenv cluster (the jobs authenticate as a
// ServiceAccount bound to the shipped Role, templates/kubernetes/rbac.yaml),
// a GitOps repository served through the GitLab API fake, an Argo CD
// Application over it, a Prometheus backfilled with a generated history for
// both colours, a Slack fake, and the application's own project: a git
// repository whose .gitlab-ci.yml includes the components
// `component: $CI_SERVER_FQDN/platform/bluegreen/<name>@$CI_COMMIT_SHA`.
// Its origin remote claims the path platform/bluegreen, so gitlab-ci-local
// reads those includes from the project's working tree, which holds a copy
// of templates/.
//
// World.Pipeline runs gitlab-ci-local in that project with
// --force-shell-executor (the job image is ignored; the freshly built
// bluegreen binary is first on PATH), --shell-isolation (each job gets its
// own copy of the project and only the artifacts it depends on), and the
// secrets as project variables in .gitlab-ci-local-variables.yml, as masked
// CI/CD variables would be in GitLab.
package pipeline
