// Package plan holds the deployment record that flows between bluegreen's
// jobs: render creates .bluegreen/plan.json, and every later mode loads it,
// acts, appends its result to the ledger and saves it. The plan holds data
// only and does no network I/O; it is the audit record of one deployment.
// Load validates all of it, since an artifact is input like any other (see
// Validate), and a mode's flags never rewrite it (see CheckFlags).
package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	sigsjson "sigs.k8s.io/json"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/redact"
)

// SchemaVersion is the version this binary writes. Load refuses newer ones,
// and fields it does not know: a new field needs a new version.
// Version 2 added monitor, version 3 workload.rollout; older plans are
// read as they are.
const SchemaVersion = 3

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
	Monitor       *Monitoring    `json:"monitor,omitempty"`
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
	Dir     string   `json:"dir"`     // RenderedDir, relative to the plan's folder
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
	// Rollout is a Rollout's ReplicaSets as sync left them; nil for a
	// Deployment, and before sync.
	Rollout *RolloutHashes `json:"rollout,omitempty"`
}

// RolloutHashes are the rollouts-pod-template-hash values of a Rollout's
// two ReplicaSets, as sync read them once the Rollout paused with the
// preview Service on the new one. verify and monitor query the release as
// Preview and the side it is compared with as Stable. On a first release
// (nothing to compare with) both are the one ReplicaSet's.
type RolloutHashes struct {
	Stable  string `json:"stable"`  // status.stableRS: behind the active Service before promote
	Preview string `json:"preview"` // status.currentPodHash: the release, behind the preview Service
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
	Stage    Stage             `json:"stage"`
	Outcome  string            `json:"outcome"` // ok, negative, usage, external, locked
	Message  string            `json:"message,omitempty"`
	Started  time.Time         `json:"started"`
	Finished time.Time         `json:"finished"`
	JobURL   string            `json:"jobUrl,omitempty"`
	Details  map[string]string `json:"details,omitempty"`
}

// Append adds a stage result to the ledger, with the credentials in URLs
// of its message and details masked (redact.Text): the plan is an artifact
// anyone who can read the pipeline can download.
func (p *Plan) Append(r Result) {
	r.Message = redact.Text(r.Message)
	if len(r.Details) > 0 {
		d := make(map[string]string, len(r.Details))
		for k, v := range r.Details {
			d[k] = redact.Text(v)
		}
		r.Details = d
	}
	p.Ledger = append(p.Ledger, r)
}

// Last returns the newest ledger entry for stage, if any.
func (p *Plan) Last(stage Stage) (Result, bool) {
	for i := len(p.Ledger) - 1; i >= 0; i-- {
		if p.Ledger[i].Stage == stage {
			return p.Ledger[i], true
		}
	}
	return Result{}, false
}

// ErrNotFound is returned by Load when the folder has no plan.
var ErrNotFound = errors.New("no plan.json: run `bluegreen render` first, or pass the render job's artifacts")

// MaxSize is the largest plan.json, in bytes, that Load reads and Save
// writes. A thousand ledger entries and the most a checks file lets verify
// record (verify.MaxEvaluations values, verify.MaxQueryTotal of queries per
// colour) come to about 2 MiB.
const MaxSize = 4 << 20

// Load reads dir/plan.json and validates all of it: at most MaxSize bytes,
// one JSON object whose fields are each known and given once (matched
// exactly, case included), a schema this bluegreen reads, and every value
// by its rule (see Validate). A refused plan is an error that wraps
// ErrInvalid, names the file, the field and the value, and is outcome.Usage
// (exit 2); a missing one wraps ErrNotFound, also outcome.Usage.
func Load(dir string) (*Plan, error) {
	path := filepath.Join(dir, FileName)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, outcome.As(outcome.Usage, fmt.Errorf("%s: %w", path, ErrNotFound))
	}
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	p, err := decode(path, b)
	if err != nil {
		return nil, outcome.As(outcome.Usage, err)
	}
	return p, nil
}

// decode parses and validates a plan's bytes; path is only for messages.
//
// Decoding is strict. Unknown fields are refused because every field a
// bluegreen writes is known to the bluegreen that reads it: a pipeline's
// jobs all run the one image its component version pins, and a field added
// later comes with a new SchemaVersion, which the schema check refuses with
// a message that says so. Repeated fields are refused because
// encoding/json keeps the last of them silently, so that a plan could show
// a reviewer one app and give bluegreen another.
func decode(path string, b []byte) (*Plan, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%s: %w: larger than %d bytes (plan.MaxSize)", path, ErrInvalid, MaxSize)
	}
	var head struct {
		Schema int `json:"schema"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("%s: %w: not a plan: %v", path, ErrInvalid, err)
	}
	switch {
	case head.Schema > SchemaVersion:
		return nil, fmt.Errorf("%s: %w: schema version %d is newer than this bluegreen understands (%d); use the bluegreen image the render job used", path, ErrInvalid, head.Schema, SchemaVersion)
	case head.Schema < 1:
		return nil, fmt.Errorf("%s: %w: missing or invalid schema version %d", path, ErrInvalid, head.Schema)
	}
	var p Plan
	strict, err := sigsjson.UnmarshalStrict(b, &p)
	if err != nil {
		return nil, decodeError(path, b, err)
	}
	c := &checker{file: path}
	for _, e := range strict {
		c.strict(e)
	}
	p.validate(c)
	if err := c.err(); err != nil {
		return nil, err
	}
	return &p, nil
}

// strict records an unknown or a repeated field.
func (c *checker) strict(err error) {
	var fe sigsjson.FieldError
	if !errors.As(err, &fe) {
		c.add(&FieldError{File: c.file, Field: "(plan)", Err: err, NoValue: true})
		return
	}
	var rule error
	switch kind, _, _ := strings.Cut(err.Error(), " "+strconv.Quote(fe.FieldPath())); kind {
	case "duplicate field":
		rule = errors.New("given twice; a plan names each field once")
	case "unknown field":
		rule = fmt.Errorf("unknown field: schema %d has no such field", SchemaVersion)
	default:
		rule = errors.New(kind)
	}
	c.add(&FieldError{File: c.file, Field: fe.FieldPath(), Err: rule, NoValue: true})
}

// decodeError names the field of a type error; the strict decoder's own
// errors name Go types.
func decodeError(path string, b []byte, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(json.Unmarshal(b, new(Plan)), &te) && te.Field != "" {
		return &Invalid{File: path, Problems: []*FieldError{{File: path, Field: te.Field, Err: fmt.Errorf("is a JSON %s; want %s", te.Value, te.Type.Kind()), NoValue: true}}}
	}
	msg := err.Error()
	if strings.ContainsFunc(msg, unicode.IsControl) {
		msg = strconv.Quote(msg) // a value in it must not forge a log line
	}
	return fmt.Errorf("%s: %w: not a plan: %s", path, ErrInvalid, msg)
}

// Save writes dir/plan.json atomically: a killed job leaves the old plan or
// the new one, never half of either. A plan larger than MaxSize is not
// written, as Load would refuse it; the old plan stays.
func (p *Plan) Save(dir string) error {
	if p.Schema == 0 {
		p.Schema = SchemaVersion
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("encode plan: %w", err)
	}
	if len(b)+1 > MaxSize {
		return fmt.Errorf("encode plan: %w: %d bytes, larger than %d (plan.MaxSize)", ErrInvalid, len(b)+1, MaxSize)
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
