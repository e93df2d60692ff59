package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/prometheus/common/model"
	"sigs.k8s.io/yaml"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
	"gitlab.com/platform/bluegreen/internal/prom"
)

// Built-in defaults, used when neither the check nor the file's top level
// sets a value.
const (
	DefaultWindow   = 10 * time.Minute
	DefaultInterval = time.Minute
)

// Checks is a validated checks file.
type Checks struct {
	Path   string
	Checks []*Check
	// PassScore is the share (0–1] of the weighted checks' total weight
	// that must pass; 0 when no check has a weight.
	PassScore float64
}

// Check is one PromQL check.
type Check struct {
	Name     string
	Query    string // the template, as written
	Max, Min *float64
	Compare  *Compare // nil: no comparison with the live colour
	Window   time.Duration
	Interval time.Duration
	NoData   Verdict // Fail or Inconclusive: what a check without enough data ends as
	Critical bool    // true: its failure fails the run
	// Weight > 0 makes the check count toward the run's score with this
	// weight (see score.go). A check with neither is only reported.
	Weight float64
	// When says which stage runs the check: verify before the switch,
	// monitor after it, or both (the default). See phase.go.
	When Phase

	tmpl      *template.Template
	usesRange bool // the query uses {{.Window}}, so the engine can widen it to a whole span
	// How the query tells the release from the live side: by colour (a
	// Deployment app: {{.Color}} with {{.Hash}} empty), by ReplicaSet hash
	// (a Rollout app: {{.Hash}}), and whether, with a hash, it still
	// depends on the colour, which a Rollout's pods do not carry.
	byColor, byHash, hashUsesColor bool
}

// Compare is a limit relative to the live colour's value of the same query.
type Compare struct {
	With        string // "live"
	MaxIncrease *Delta // green may exceed live by at most this
	MaxDecrease *Delta // green may fall below live by at most this
}

// Delta is a tolerance, either relative ("20%") or absolute (0.005).
type Delta struct {
	Value    float64 // a fraction when Relative (0.2 for 20%)
	Relative bool
}

func (d Delta) String() string {
	if d.Relative {
		return strconv.FormatFloat(d.Value*100, 'g', 4, 64) + "%"
	}
	return strconv.FormatFloat(d.Value, 'g', 4, 64)
}

// Intervals is the number of evaluations in the check's window.
func (c *Check) Intervals() int { return int(c.Window / c.Interval) }

// Vars are the values a query template can use.
type Vars struct {
	App       string
	Namespace string
	Color     plan.Color
	// Hash is a Rollout app's side: the rollouts-pod-template-hash of the
	// ReplicaSet queried (the new one for the release, the stable one for
	// the live side). It is "" for a Deployment app, whose sides are
	// colours; a template can branch on it ({{if .Hash}}) to serve both.
	Hash string
	// Window is the range each evaluation covers, as a PromQL duration: the
	// check's interval for the per-interval values, or the span observed so
	// far for the aggregate (Flagger's {{ interval }}).
	Window string
}

// Side is what one query is rendered for: the app, and one side of the
// comparison, a colour (a Deployment app) or a ReplicaSet hash (a Rollout
// app, whose colour is always the plan's target).
type Side struct {
	App, Namespace string
	Color          plan.Color
	Hash           string
}

// Render fills the query template for one colour and range: a Deployment
// app's side. See RenderSide.
func (c *Check) Render(app, namespace string, color plan.Color, window time.Duration) (string, error) {
	return c.RenderSide(Side{App: app, Namespace: namespace, Color: color}, window)
}

// RenderSide fills the query template for one side and range. Every value
// goes in escaped as the contents of a PromQL string (prom.EscapeString),
// for the template's double quotes, so that no value can close its label
// matcher; Target.Validate refuses such values before, too. A query longer
// than MaxQuerySize is an error that wraps ErrQueryTooLong.
func (c *Check) RenderSide(s Side, window time.Duration) (string, error) {
	w := &limitWriter{max: MaxQuerySize}
	err := c.tmpl.Execute(w, Vars{
		App: prom.EscapeString(s.App), Namespace: prom.EscapeString(s.Namespace),
		Color: plan.Color(prom.EscapeString(string(s.Color))), Hash: prom.EscapeString(s.Hash),
		Window: promDuration(window),
	})
	if err != nil {
		return "", fmt.Errorf("check %q: query: %w", c.Name, err)
	}
	return w.buf.String(), nil
}

// promDuration writes d the way PromQL reads it: 10m, 1h30m, 90s → 1m30s.
func promDuration(d time.Duration) string { return model.Duration(d).String() }

// The file as written. Fields are decoded strictly: an unknown field is an error.
type rawFile struct {
	Window    string            `json:"window"`
	Interval  string            `json:"interval"`
	NoData    string            `json:"no-data"`
	PassScore json.RawMessage   `json:"pass-score"`
	Checks    []json.RawMessage `json:"checks"`
}

type rawCheck struct {
	Name     string      `json:"name"`
	Query    string      `json:"query"`
	Max      *float64    `json:"max"`
	Min      *float64    `json:"min"`
	Compare  *rawCompare `json:"compare"`
	Window   string      `json:"window"`
	Interval string      `json:"interval"`
	NoData   string      `json:"no-data"`
	Critical *bool       `json:"critical"`
	Weight   *float64    `json:"weight"`
	When     string      `json:"when"`
}

type rawCompare struct {
	With        string          `json:"with"`
	MaxIncrease json.RawMessage `json:"max-increase"`
	MaxDecrease json.RawMessage `json:"max-decrease"`
}

var checkName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// LoadChecks reads and validates a checks file of at most
// MaxChecksFileSize bytes. Every problem is reported at once, each naming
// the check and the field, as a usage error (exit 2): nothing is queried
// before the whole file is valid.
func LoadChecks(path string) (*Checks, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, outcome.Usagef("checks file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxChecksFileSize+1))
	if err != nil {
		return nil, outcome.Usagef("checks file: %w", err)
	}
	cs, err := ParseChecks(path, data)
	if err != nil {
		return nil, outcome.As(outcome.Usage, err)
	}
	return cs, nil
}

// ParseChecks validates a checks file's content, within the limits above.
// path is only for messages.
func ParseChecks(path string, data []byte) (*Checks, error) {
	p := &problems{file: path}
	if len(data) > MaxChecksFileSize {
		p.add("", "", "larger than %d bytes (verify.MaxChecksFileSize)", MaxChecksFileSize)
		return nil, p.err()
	}
	var raw rawFile
	if err := yaml.UnmarshalStrict(data, &raw); err != nil {
		p.add("", "", "%v", yamlError(err))
		return nil, p.err()
	}
	defWindow := p.duration("", "window", raw.Window, DefaultWindow)
	defInterval := p.duration("", "interval", raw.Interval, DefaultInterval)
	defNoData := p.noData("", raw.NoData, Fail)
	if len(raw.Checks) == 0 {
		p.add("", "checks", "the file has no checks (want a list under `checks:`)")
	}
	if len(raw.Checks) > MaxChecks {
		p.tooMany(len(raw.Checks), checkLabel(MaxChecks, raw.Checks[MaxChecks]))
		return nil, p.err()
	}
	cs := &Checks{Path: path}
	seen := map[string]bool{}
	for i, rc := range raw.Checks {
		c := p.check(i, rc, defWindow, defInterval, defNoData)
		if c == nil {
			continue
		}
		if seen[c.Name] {
			p.add(c.Name, "name", "another check has this name")
		}
		seen[c.Name] = true
		cs.Checks = append(cs.Checks, c)
	}
	cs.PassScore = p.passScore(raw.PassScore, cs.Checks)
	if err := p.err(); err != nil {
		return nil, err
	}
	return cs, nil
}

// checkLabel names the i-th check (from 0) in messages: by its name, else
// by its place.
func checkLabel(i int, data json.RawMessage) string {
	var named struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(data, &named)
	if named.Name == "" {
		return fmt.Sprintf("#%d", i+1)
	}
	return named.Name
}

func (p *problems) check(i int, data json.RawMessage, defWindow, defInterval time.Duration, defNoData Verdict) *Check {
	label := checkLabel(i, data)
	var rc rawCheck
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rc); err != nil {
		p.add(label, "", "%v", jsonError(err))
		return nil
	}
	// A check is critical unless it says otherwise or has a weight.
	critical := rc.Weight == nil
	if rc.Critical != nil {
		critical = *rc.Critical
	}
	c := &Check{Name: rc.Name, Query: rc.Query, Max: rc.Max, Min: rc.Min, Critical: critical}
	if rc.Weight != nil {
		if w := *rc.Weight; w <= 0 || math.IsInf(w, 0) || math.IsNaN(w) {
			p.add(label, "weight", "%g: want a number > 0", w)
		} else {
			c.Weight = w
		}
	}
	if !checkName.MatchString(rc.Name) {
		if rc.Name == "" {
			p.add(label, "name", "required")
		} else {
			p.add(label, "name", "%q: use letters, digits, '.', '_' and '-', at most 63", rc.Name)
		}
	}
	c.Window = p.duration(label, "window", rc.Window, defWindow)
	c.Interval = p.duration(label, "interval", rc.Interval, defInterval)
	c.NoData = p.noData(label, rc.NoData, defNoData)
	c.When = p.phase(label, rc.When)
	p.limits(label, c, rc)
	p.timing(label, c)
	p.budget(label, c, p.query(label, c))
	return c
}

func (p *problems) limits(label string, c *Check, rc rawCheck) {
	for _, l := range []struct {
		field string
		v     *float64
	}{{"max", c.Max}, {"min", c.Min}} {
		if l.v != nil && (math.IsNaN(*l.v) || math.IsInf(*l.v, 0)) {
			p.add(label, l.field, "must be a finite number")
		}
	}
	if c.Max != nil && c.Min != nil && *c.Min > *c.Max {
		p.add(label, "min", "%g is above max %g: no value could pass", *c.Min, *c.Max)
	}
	if rc.Compare != nil {
		c.Compare = &Compare{With: rc.Compare.With}
		switch rc.Compare.With {
		case "live":
		case "":
			p.add(label, "compare.with", "required: live")
		default:
			p.add(label, "compare.with", "%q: only live is supported", rc.Compare.With)
		}
		c.Compare.MaxIncrease = p.delta(label, "compare.max-increase", rc.Compare.MaxIncrease)
		c.Compare.MaxDecrease = p.delta(label, "compare.max-decrease", rc.Compare.MaxDecrease)
		if c.Compare.MaxIncrease == nil && c.Compare.MaxDecrease == nil && len(rc.Compare.MaxIncrease) == 0 && len(rc.Compare.MaxDecrease) == 0 {
			p.add(label, "compare", "set max-increase (e.g. 20%% or 0.005) or max-decrease")
		}
		if d := c.Compare.MaxDecrease; d != nil && d.Relative && d.Value >= 1 {
			p.add(label, "compare.max-decrease", "%s allows any value: use less than 100%%", d)
		}
	}
	if c.Max == nil && c.Min == nil && rc.Compare == nil {
		p.add(label, "max", "set max, min or compare: a check needs a limit")
	}
}

func (p *problems) timing(label string, c *Check) {
	if c.Window <= 0 || c.Interval <= 0 {
		return // already reported
	}
	switch {
	case c.Interval < time.Second:
		p.add(label, "interval", "%s is below 1s", c.Interval)
	case c.Interval > c.Window:
		p.add(label, "interval", "%s is longer than the window %s", c.Interval, c.Window)
	case c.Window%c.Interval != 0:
		p.add(label, "window", "%s is not a whole number of intervals of %s", c.Window, c.Interval)
	case c.Window/c.Interval > 1000:
		p.add(label, "interval", "%s makes %d evaluations in %s; use at most 1000", c.Interval, c.Window/c.Interval, c.Window)
	}
}

// query checks the template and, as far as it can without a PromQL parser,
// the query itself: brackets and quotes must balance, and the query must
// depend on the colour. Prometheus judges the rest in the preflight, before
// the window is evaluated. It returns the query's length rendered for the
// longest names a target can have (0 when it is invalid).
func (p *problems) query(label string, c *Check) int {
	if strings.TrimSpace(c.Query) == "" {
		p.add(label, "query", "required")
		return 0
	}
	t, err := template.New(c.Name).Option("missingkey=error").Parse(c.Query)
	if err == nil {
		err = bounded(t)
	}
	if err != nil {
		p.add(label, "query", "template: %v", templateError(err))
		return 0
	}
	c.tmpl = t
	c.usesRange = strings.Contains(c.Query, ".Window")
	longest, err := c.Render(longestApp, longestNamespace, plan.Green, c.Window)
	if err == nil {
		var hashed string
		if hashed, err = c.RenderSide(Side{App: longestApp, Namespace: longestNamespace, Color: plan.Green, Hash: longestHash}, c.Window); len(hashed) > len(longest) {
			longest = hashed
		}
	}
	if errors.Is(err, ErrQueryTooLong) {
		p.add(label, "query", "%v", ErrQueryTooLong)
		return 0
	}
	var q [4]string
	var errs [4]error
	for i, s := range []Side{
		{App: "app", Namespace: "ns", Color: plan.Green}, {App: "app", Namespace: "ns", Color: plan.Blue},
		{App: "app", Namespace: "ns", Color: plan.Blue, Hash: "h1"}, {App: "app", Namespace: "ns", Color: plan.Blue, Hash: "h2"},
	} {
		q[i], errs[i] = c.RenderSide(s, time.Minute)
	}
	for _, err := range errs {
		if err != nil {
			p.add(label, "query", "template: %v (the variables are {{.App}} {{.Namespace}} {{.Color}} {{.Hash}} {{.Window}})", templateError(errors.Unwrap(err)))
			return 0
		}
	}
	for _, s := range []string{q[0], q[2]} {
		if err := balanced(s); err != nil {
			p.add(label, "query", "%v", err)
			return 0
		}
	}
	c.byColor, c.byHash = q[0] != q[1], q[2] != q[3]
	if hashed, err := c.RenderSide(Side{App: "app", Namespace: "ns", Color: plan.Green, Hash: "h1"}, time.Minute); err == nil {
		c.hashUsesColor = hashed != q[2]
	}
	if !c.byColor && !c.byHash {
		p.add(label, "query", "does not use {{.Color}} or {{.Hash}}: green and blue (or a Rollout's two ReplicaSets) would give the same value")
	}
	return len(longest)
}

// fit checks that every check tells t's two sides apart the way t's app
// can (Check.Misfit). Every misfit is listed at once (exit 2).
func (cs *Checks) fit(t Target) error {
	p := &problems{file: cs.Path}
	for _, c := range cs.Checks {
		if why := c.Misfit(t.Rollout()); why != "" {
			p.add(c.Name, "query", "%s", why)
		}
	}
	return p.err()
}

// Misfit says why the check cannot tell an app's release from its live
// side, or "" when it can: a Deployment app's sides by colour
// ({{.Color}}), a Rollout app's by ReplicaSet hash ({{.Hash}}) and not by
// colour, which its pods do not carry.
func (c *Check) Misfit(rollout bool) string {
	switch {
	case rollout && !c.byHash:
		return `uses {{.Color}}, not {{.Hash}}: a Rollout app has no colours (Argo Rollouts tells its new ReplicaSet from the stable one by the pod label rollouts-pod-template-hash): select rollouts_pod_template_hash="{{.Hash}}" instead of the colour`
	case rollout && c.hashUsesColor:
		return "uses {{.Color}} as well as {{.Hash}}: a Rollout's pods carry no colour, so it would match nothing; drop the colour matcher (or keep it under {{if not .Hash}})"
	case !rollout && !c.byColor:
		return "uses {{.Hash}}, not {{.Color}}: {{.Hash}} is a Rollout's ReplicaSet hash, and this app's workload is a Deployment, told apart by colour ({{if .Hash}}…{{else}}…{{end}} serves both)"
	}
	return ""
}

func (p *problems) duration(label, field, s string, def time.Duration) time.Duration {
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		md, merr := model.ParseDuration(s)
		if merr != nil {
			p.add(label, field, "%q is not a duration (e.g. 30s, 5m, 1h)", s)
			return -1
		}
		d = time.Duration(md)
	}
	if d <= 0 {
		p.add(label, field, "%q must be positive", s)
		return -1
	}
	return d
}

func (p *problems) noData(label, s string, def Verdict) Verdict {
	switch s {
	case "":
		return def
	case "fail":
		return Fail
	case "inconclusive":
		return Inconclusive
	}
	p.add(label, "no-data", "%q: want fail or inconclusive (no data is never a pass)", s)
	return def
}

func (p *problems) delta(label, field string, raw json.RawMessage) *Delta {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var num float64
	if err := json.Unmarshal(raw, &num); err == nil {
		if num < 0 || math.IsNaN(num) || math.IsInf(num, 0) {
			p.add(label, field, "%s: want a finite number ≥ 0", raw)
			return nil
		}
		return &Delta{Value: num}
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if pct, ok := strings.CutSuffix(strings.TrimSpace(s), "%"); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(pct), 64)
			if err == nil && v >= 0 && !math.IsInf(v, 0) {
				return &Delta{Value: v / 100, Relative: true}
			}
		} else if v, err := strconv.ParseFloat(s, 64); err == nil && v >= 0 && !math.IsInf(v, 0) {
			return &Delta{Value: v}
		}
	}
	p.add(label, field, "%s: want a percentage (20%%) or an absolute number (0.005)", raw)
	return nil
}

// balanced reports the first unbalanced bracket or unclosed string in a
// PromQL query: the syntax errors people make most, caught before any query.
func balanced(q string) error {
	var stack []rune
	var pos []int
	closer := map[rune]rune{')': '(', ']': '[', '}': '{'}
	rs := []rune(q)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch r {
		case '#': // a comment, to the end of the line
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
		case '"', '\'', '`':
			start := i
			for i++; i < len(rs) && rs[i] != r; i++ {
				if rs[i] == '\\' && r != '`' {
					i++
				}
			}
			if i >= len(rs) {
				return fmt.Errorf("string opened with %c at column %d is never closed", r, start+1)
			}
		case '(', '[', '{':
			stack, pos = append(stack, r), append(pos, i)
		case ')', ']', '}':
			if len(stack) == 0 || stack[len(stack)-1] != closer[r] {
				return fmt.Errorf("unexpected %c at column %d", r, i+1)
			}
			stack, pos = stack[:len(stack)-1], pos[:len(pos)-1]
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("%c at column %d is never closed", stack[len(stack)-1], pos[len(pos)-1]+1)
	}
	return nil
}

// problems collects every validation error of a checks file, and the
// totals the file's limits bound.
type problems struct {
	file        string
	msgs        []string
	queryBytes  int // every valid query, rendered for the longest names
	evaluations int // every valid check's intervals
}

func (p *problems) add(check, field, format string, a ...any) {
	var where []string
	if check != "" {
		where = append(where, fmt.Sprintf("check %q", check))
	}
	if field != "" {
		where = append(where, field)
	}
	msg := fmt.Sprintf(format, a...)
	if len(where) > 0 {
		msg = strings.Join(where, ": ") + ": " + msg
	}
	p.msgs = append(p.msgs, msg)
}

func (p *problems) err() error {
	if len(p.msgs) == 0 {
		return nil
	}
	return outcome.Usagef("checks file %s: %s", p.file, strings.Join(p.msgs, "; "))
}

// yamlError and jsonError shorten the decoders' messages to what a user
// can act on.
func yamlError(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "error converting YAML to JSON: ")
	s = strings.TrimPrefix(s, "error unmarshaling JSON: ")
	s = strings.TrimPrefix(s, "while decoding JSON: ")
	return strings.TrimPrefix(s, "json: ")
}

func jsonError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s: want a %s, got %s", te.Field, te.Type, te.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func templateError(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if i := strings.Index(s, ": "); i >= 0 && strings.HasPrefix(s, "template: ") {
		s = s[i+2:]
	}
	return s
}
