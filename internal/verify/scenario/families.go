package scenario

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Family is a kind of scenario with a known truth; each seed draws its own
// effect size, noise and traffic.
type Family struct {
	Name  string
	Truth Truth
	About string
	draw  func(r *rand.Rand, s *Spec)
}

// Spec draws the family's scenario for seed.
func (f Family) Spec(seed uint64) Spec {
	s := Spec{
		Family: f.Name, Seed: seed, Truth: f.Truth,
		Window: 10 * time.Minute, Interval: time.Minute, Step: 15 * time.Second,
		Blue:  Traffic{Present: true, RPS: 30, ErrorRate: constant(0.002)},
		Green: Traffic{Present: true, RPS: 10, ErrorRate: constant(0.002)},
	}
	f.draw(rand.New(rand.NewPCG(seed, hash(f.Name))), &s)
	return s
}

// Families are the benchmark's scenario families. The checks are
// ChecksYAML's: error rate ≤ 1%, and p99 latency at most 20% above live's.
var Families = []Family{
	{Name: "good", Truth: Good, About: "green behaves like blue, 5–20 rps", draw: func(r *rand.Rand, s *Spec) {
		s.Green.RPS = uniform(r, 5, 20)
		s.Note = fmt.Sprintf("rps %.1f", s.Green.RPS)
	}},
	{Name: "noisy-good", Truth: Good, About: "green sees only 0.5–2 rps, and latency bursts (2% of scrapes, a tenth of requests 3× slower); its true p99 stays under 0.9× the limit", draw: func(r *rand.Rand, s *Spec) {
		s.Green.RPS = uniform(r, 0.5, 2)
		p := uniform(r, 0.001, 0.004)
		s.Green.ErrorRate = constant(p)
		s.Green.Burst, s.Green.BurstFactor = 0.02, 3
		s.Note = fmt.Sprintf("rps %.2f, errors %.2f%%, bursts", s.Green.RPS, p*100)
	}},
	{Name: "bad-error-rate", Truth: Bad, About: "3–10% errors from the start", draw: func(r *rand.Rand, s *Spec) {
		s.Green.RPS = uniform(r, 2, 20)
		p := uniform(r, 0.03, 0.10)
		s.Green.ErrorRate = constant(p)
		s.Note = fmt.Sprintf("rps %.1f, errors %.1f%%", s.Green.RPS, p*100)
	}},
	{Name: "marginal-error-rate", Truth: Bad, About: "1.5–2.5% errors from the start (limit 1%)", draw: func(r *rand.Rand, s *Spec) {
		s.Green.RPS = uniform(r, 5, 20)
		p := uniform(r, 0.015, 0.025)
		s.Green.ErrorRate = constant(p)
		s.Note = fmt.Sprintf("rps %.1f, errors %.2f%%", s.Green.RPS, p*100)
	}},
	{Name: "latency-regression", Truth: Bad, About: "latency 1.5–3× blue's from the start", draw: func(r *rand.Rand, s *Spec) {
		s.Green.RPS = uniform(r, 2, 20)
		k := uniform(r, 1.5, 3)
		s.Green.LatencyScale = func(time.Duration) float64 { return k }
		s.Note = fmt.Sprintf("rps %.1f, latency ×%.2f", s.Green.RPS, k)
	}},
	{Name: "slow-leak", Truth: Bad, About: "latency grows steadily and crosses +20% at 40–70% of the window", draw: func(r *rand.Rand, s *Spec) {
		s.Green.RPS = uniform(r, 5, 20)
		cross := time.Duration(uniform(r, 0.4, 0.7) * float64(s.Window))
		slope := 0.2 / cross.Seconds()
		s.Green.LatencyScale = func(t time.Duration) float64 { return 1 + slope*max(t, 0).Seconds() }
		s.Onset = cross
		s.Note = fmt.Sprintf("rps %.1f, crosses at %s, ×%.2f at the end", s.Green.RPS, cross.Round(time.Second), 1+slope*s.Window.Seconds())
	}},
	{Name: "late-regression", Truth: Bad, About: "errors jump to 3–8% at 30–60% of the window", draw: func(r *rand.Rand, s *Spec) {
		s.Green.RPS = uniform(r, 5, 20)
		at := time.Duration(uniform(r, 0.3, 0.6) * float64(s.Window))
		p := uniform(r, 0.03, 0.08)
		s.Green.ErrorRate = func(t time.Duration) float64 {
			if t >= at {
				return p
			}
			return 0.002
		}
		s.Onset = at
		s.Note = fmt.Sprintf("rps %.1f, %.1f%% errors from %s", s.Green.RPS, p*100, at.Round(time.Second))
	}},
	{Name: "no-traffic", Truth: NoData, About: "green is up and scraped but gets no requests (0/0 = NaN)", draw: func(r *rand.Rand, s *Spec) {
		s.Green.RPS = 0
		s.Note = "rps 0"
	}},
	{Name: "no-series", Truth: NoData, About: "green has no series at all (wrong labels, not scraped)", draw: func(r *rand.Rand, s *Spec) {
		s.Green.Present = false
		s.Note = "green absent"
	}},
	{Name: "blue-missing", Truth: NoBaseline, About: "green is good, but blue has no series: the comparison is impossible", draw: func(r *rand.Rand, s *Spec) {
		s.Green.RPS = uniform(r, 5, 20)
		s.Blue.Present = false
		s.Note = fmt.Sprintf("rps %.1f, blue absent", s.Green.RPS)
	}},
}

// FamilyNamed returns the family with that name.
func FamilyNamed(name string) (Family, bool) {
	for _, f := range Families {
		if f.Name == name {
			return f, true
		}
	}
	return Family{}, false
}

func constant(v float64) func(time.Duration) float64 { return func(time.Duration) float64 { return v } }

func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

func hash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
