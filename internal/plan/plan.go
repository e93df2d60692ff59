// Package plan holds the deployment record that flows between bluegreen's
// jobs: render creates .bluegreen/plan.json, and every later mode loads it,
// acts, appends its result to the ledger and saves it. The plan holds data
// only and does no network I/O; it is the audit record of one deployment.
package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// SchemaVersion is the version this binary writes. Load refuses newer ones.
const SchemaVersion = 1

// FileName is the plan's name inside the output folder.
const FileName = "plan.json"

// Color is a deployment colour.
type Color string

// The colours. None is the live colour before the first release.
const (
	Blue  Color = "blue"
	Green Color = "green"
	None  Color = "none"
)

// ParseColor parses "blue", "green" or "none".
func ParseColor(s string) (Color, error) {
	switch c := Color(s); c {
	case Blue, Green, None:
		return c, nil
	}
	return "", fmt.Errorf("%q is not blue, green or none", s)
}

// Other is the colour a release targets when c is live. A first release
// (None) targets blue.
func (c Color) Other() Color {
	if c == Blue {
		return Green
	}
	return Blue
}

// Plan is one deployment of one app to one environment.
type Plan struct {
	Schema        int            `json:"schema"`
	App           string         `json:"app"`
	Namespace     string         `json:"namespace"`
	Environment   string         `json:"environment,omitempty"`
	Commit        string         `json:"commit,omitempty"`
	Image         string         `json:"image"`
	LiveColor     Color          `json:"liveColor"`
	TargetColor   Color          `json:"targetColor"`
	Pipeline      Pipeline       `json:"pipeline"`
	Workload      Workload       `json:"workload"`
	Rendered      Rendered       `json:"rendered"`
	GitOps        *GitOps        `json:"gitops,omitempty"`
	ArgoCD        *ArgoCD        `json:"argocd,omitempty"`
	Slack         *Slack         `json:"slack,omitempty"`
	Approval      *Approval      `json:"approval,omitempty"`
	Notifications *Notifications `json:"notifications,omitempty"`
	Verification  *Verification  `json:"verification,omitempty"`
	Traffic       *Traffic       `json:"traffic,omitempty"`
	CreatedAt     time.Time      `json:"createdAt"`
	Ledger        []Result       `json:"ledger"`
}

// Pipeline identifies the GitLab pipeline that owns the deployment.
type Pipeline struct {
	ProjectPath string `json:"projectPath,omitempty"`
	ID          int64  `json:"id,omitempty"`
	URL         string `json:"url,omitempty"`
}

// Rendered describes render's output.
type Rendered struct {
	Dir     string   `json:"dir"`     // relative to the plan's folder
	Digest  string   `json:"digest"`  // sha256 over every rendered file, in order
	Objects []Object `json:"objects"` // one per rendered object, sorted
}

// Object is one rendered Kubernetes object.
type Object struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	File      string `json:"file"`   // relative to Rendered.Dir
	Action    string `json:"action"` // what render did: coloured, copied, retargeted, split, passed
	Digest    string `json:"digest"` // sha256 of the object's file
}

// Workload is the object render coloured.
type Workload struct {
	Kind      string        `json:"kind"`              // Deployment or Rollout
	Name      string        `json:"name"`              // as in the app's manifests
	Colored   string        `json:"colored,omitempty"` // the target colour's Deployment; empty for a Rollout
	Container string        `json:"container"`         // the container that got the image
	Services  []ServicePair `json:"services,omitempty"`
}

// ServicePair is an active Service and its preview.
type ServicePair struct {
	Active  string `json:"active"`
	Preview string `json:"preview"`
	Port    int64  `json:"port,omitempty"` // the first port, for the preview URL
}

// GitOps records the commit that carries the deployment.
type GitOps struct {
	Project string `json:"project"`
	Branch  string `json:"branch"`
	Path    string `json:"path"`
	Commit  string `json:"commit"`
}

// ArgoCD records the synced Application.
type ArgoCD struct {
	App      string `json:"app"`
	Revision string `json:"revision"`
}

// Slack records the deployment's thread.
type Slack struct {
	Channel  string `json:"channel"`
	ThreadTS string `json:"threadTs"`
}

// Result is one stage's entry in the ledger.
type Result struct {
	Stage    string            `json:"stage"`
	Outcome  string            `json:"outcome"` // ok, negative, usage, external, locked
	Message  string            `json:"message,omitempty"`
	Started  time.Time         `json:"started"`
	Finished time.Time         `json:"finished"`
	JobURL   string            `json:"jobUrl,omitempty"`
	Details  map[string]string `json:"details,omitempty"`
}

// Append adds a stage result to the ledger.
func (p *Plan) Append(r Result) { p.Ledger = append(p.Ledger, r) }

// Last returns the newest ledger entry for stage, if any.
func (p *Plan) Last(stage string) (Result, bool) {
	for i := len(p.Ledger) - 1; i >= 0; i-- {
		if p.Ledger[i].Stage == stage {
			return p.Ledger[i], true
		}
	}
	return Result{}, false
}

// ErrNotFound is returned by Load when the folder has no plan.
var ErrNotFound = errors.New("no plan.json: run `bluegreen render` first, or pass the render job's artifacts")

// Load reads dir/plan.json.
func Load(dir string) (*Plan, error) {
	path := filepath.Join(dir, FileName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	var head struct {
		Schema int `json:"schema"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("%s: not a plan: %w", path, err)
	}
	switch {
	case head.Schema > SchemaVersion:
		return nil, fmt.Errorf("%s: schema version %d is newer than this bluegreen understands (%d); use the bluegreen image the render job used", path, head.Schema, SchemaVersion)
	case head.Schema < 1:
		return nil, fmt.Errorf("%s: missing or invalid schema version %d", path, head.Schema)
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &p, nil
}

// Save writes dir/plan.json atomically: a killed job leaves the old plan or
// the new one, never half of either.
func (p *Plan) Save(dir string) error {
	if p.Schema == 0 {
		p.Schema = SchemaVersion
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("encode plan: %w", err)
	}
	return WriteFileAtomic(filepath.Join(dir, FileName), append(b, '\n'))
}

// WriteFileAtomic writes data to a temporary file next to path and renames it
// into place.
func WriteFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
