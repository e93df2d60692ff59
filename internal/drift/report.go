package drift

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gitlab.com/platform/bluegreen/internal/plan"
)

// Severity classes a finding (README.md).
type Severity string

// The severities, mildest first.
const (
	Expected  Severity = "expected"  // bluegreen, Argo CD or a controller made it so on purpose
	Benign    Severity = "benign"    // a difference that changes nothing that runs (a server default)
	Dangerous Severity = "dangerous" // drift: what runs, who may do what, or where traffic goes differs
)

// Status is a check's result.
type Status string

// The statuses.
const (
	Pass    Status = "pass"    // no dangerous finding
	Fail    Status = "fail"    // at least one dangerous finding: drift
	Errored Status = "error"   // the check could not run (a system was unreachable)
	Skipped Status = "skipped" // the check does not apply
)

// The checks, per app.
const (
	CheckActive    = "active-service"    // the active Service selects the colour recorded at the last switch, and only its pods
	CheckLiveReady = "live-ready"        // that colour's pods are Ready
	CheckPreview   = "preview"           // the preview Service is empty or on the newest colour
	CheckIdle      = "idle-scaled-down"  // the idle colour is scaled down after its rollback window
	CheckOrphans   = "config-orphans"    // no coloured ConfigMaps or Secrets beyond the kept revisions
	CheckPending   = "pending-reconcile" // no fast-path rollback waits for git
	CheckGit       = "git-vs-live"       // the GitOps repo's manifests against the live objects
	CheckArgoCD    = "argocd"            // sync and health status, and the selfHeal/prune stance
)

// checkOrder is the order of checks in reports.
var checkOrder = []string{CheckActive, CheckLiveReady, CheckPreview, CheckIdle, CheckOrphans, CheckPending, CheckGit, CheckArgoCD}

// Finding is one observation of a check.
type Finding struct {
	Severity Severity `json:"severity"`
	Class    string   `json:"class"`            // what it is about: image, env, rbac, missing, selector, window, ...
	Object   string   `json:"object,omitempty"` // Kind/name
	Path     string   `json:"path,omitempty"`   // the field, for git-vs-live
	Message  string   `json:"message"`
	Git      string   `json:"git,omitempty"`  // git's value, when it is safe to show
	Live     string   `json:"live,omitempty"` // the cluster's value, when it is safe to show
	Paths    []string `json:"paths,omitempty"`
	// Fix names what --fix does about it: reconcile or scale-down.
	Fix string `json:"fix,omitempty"`
}

// line is the finding in one line, for logs, JUnit, the issue and Slack.
func (f Finding) line() string {
	var b strings.Builder
	if f.Object != "" {
		b.WriteString(f.Object)
		if f.Path != "" {
			b.WriteString(" " + f.Path)
		}
		b.WriteString(": ")
	}
	b.WriteString(f.Message)
	if f.Git != "" || f.Live != "" {
		fmt.Fprintf(&b, " (git %s, live %s)", orNone(f.Git), orNone(f.Live))
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// Check is one check of one app.
type Check struct {
	Name     string    `json:"name"`
	Status   Status    `json:"status"`
	Summary  string    `json:"summary"`
	Findings []Finding `json:"findings,omitempty"`
	Error    string    `json:"error,omitempty"`
	err      error
}

// Dangerous lists the check's dangerous findings.
func (c Check) Dangerous() []Finding {
	var out []Finding
	for _, f := range c.Findings {
		if f.Severity == Dangerous {
			out = append(out, f)
		}
	}
	return out
}

// AppReport is the checks of one app.
type AppReport struct {
	App        string     `json:"app"`
	Live       plan.Color `json:"live,omitempty"`
	GitOpsPath string     `json:"gitopsPath,omitempty"`
	ArgoCDApp  string     `json:"argocdApp,omitempty"`
	Checks     []Check    `json:"checks"`
}

// Fix is one repair --fix made or tried.
type Fix struct {
	App      string `json:"app"`
	Action   string `json:"action"` // reconcile or scale-down
	Status   string `json:"status"` // done, skipped or failed
	Message  string `json:"message"`
	Revision string `json:"revision,omitempty"`
}

// IssueRef is the environment's GitLab issue after the run.
type IssueRef struct {
	IID    int64  `json:"iid"`
	URL    string `json:"url"`
	Action string `json:"action"` // created, updated, reopened, closed, unchanged
}

// Report is one run over one environment.
type Report struct {
	Schema      int              `json:"schema"`
	Environment string           `json:"environment"`
	Namespace   string           `json:"namespace"`
	CheckedAt   time.Time        `json:"checkedAt"`
	Revision    string           `json:"revision,omitempty"` // the GitOps branch head compared with
	Drift       bool             `json:"drift"`              // a dangerous finding in any check
	Complete    bool             `json:"complete"`           // every check ran
	Counts      map[Severity]int `json:"counts"`
	// Fingerprint identifies the dangerous findings by app, check, class,
	// object and field (not by message, which may carry counts): the same
	// drift gives the same fingerprint run after run.
	Fingerprint string      `json:"fingerprint"`
	Apps        []AppReport `json:"apps"`
	Fixes       []Fix       `json:"fixes,omitempty"`
	Issue       *IssueRef   `json:"issue,omitempty"`
	Announced   bool        `json:"announced"` // Slack was told of a change of state
	Timings     Timings     `json:"timings"`
}

// Timings are how long the run's parts took, in milliseconds.
type Timings struct {
	Cluster int64 `json:"clusterMs"` // listing the namespace's objects
	Git     int64 `json:"gitMs"`     // reading the apps' folders in the GitOps repo
	ArgoCD  int64 `json:"argocdMs"`  // reading the Applications
	Total   int64 `json:"totalMs"`
}

// ReportSchema is the version of the JSON report.
const ReportSchema = 1

// File names in the output folder.
const (
	ReportFile = "drift.json"
	JUnitFile  = "drift.junit.xml"
)

// finish sorts the checks, sets every check's status, and computes the
// counts, the verdict and the fingerprint.
func (r *Report) finish() {
	r.Counts = map[Severity]int{Expected: 0, Benign: 0, Dangerous: 0}
	r.Drift, r.Complete = false, true
	sort.Slice(r.Apps, func(i, j int) bool { return r.Apps[i].App < r.Apps[j].App })
	var keys []string
	for ai := range r.Apps {
		a := &r.Apps[ai]
		sort.SliceStable(a.Checks, func(i, j int) bool { return orderOf(a.Checks[i].Name) < orderOf(a.Checks[j].Name) })
		for ci := range a.Checks {
			c := &a.Checks[ci]
			if c.Status != Skipped {
				c.Status = Pass
			}
			for _, f := range c.Findings {
				r.Counts[f.Severity]++
				if f.Severity == Dangerous {
					c.Status = Fail
					keys = append(keys, strings.Join([]string{a.App, c.Name, f.Class, f.Object, f.Path}, "\x1f"))
				}
			}
			if c.err != nil {
				c.Status, c.Error = Errored, c.err.Error()
				r.Complete = false
			}
			if c.Status == Fail {
				r.Drift = true
			}
		}
	}
	sort.Strings(keys)
	sum := sha256.Sum256([]byte(strings.Join(keys, "\n")))
	r.Fingerprint = "sha256:" + hex.EncodeToString(sum[:8])
	if len(keys) == 0 {
		r.Fingerprint = "clean"
	}
}

func orderOf(name string) int {
	for i, n := range checkOrder {
		if n == name {
			return i
		}
	}
	return len(checkOrder)
}

// failing lists "app check: finding" for every dangerous finding.
func (r *Report) failing() []string {
	var out []string
	for _, a := range r.Apps {
		for _, c := range a.Checks {
			for _, f := range c.Dangerous() {
				out = append(out, fmt.Sprintf("%s %s: %s", a.App, c.Name, f.line()))
			}
		}
	}
	return out
}

// WriteJSON writes the report as dir/drift.json, atomically.
func (r *Report) WriteJSON(dir string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode drift report: %w", err)
	}
	return plan.WriteFileAtomic(filepath.Join(dir, ReportFile), append(b, '\n'))
}
