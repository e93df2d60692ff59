package verify

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// A check with a weight counts toward the run's score: the weight of the
// weighted checks that passed, as a share of all their weight (checks
// skipped on a first release left out). The scored part of the run passes
// when the score reaches the file's pass-score, fails once the weight
// still able to pass cannot reach it, and is inconclusive in between: a
// check without data never counts as passed. A critical check fails the
// run on its own, whatever the score; a check can be both.

// DefaultPassScore is the pass-score when the file gives none and some
// check has a weight.
const DefaultPassScore = 0.75

// passScore reads the file's pass-score: a percentage, "75%" or 75.
func (p *problems) passScore(raw json.RawMessage, checks []*Check) float64 {
	weighted := false
	for _, c := range checks {
		weighted = weighted || c.Weight > 0
	}
	if len(raw) == 0 || string(raw) == "null" {
		if weighted {
			return DefaultPassScore
		}
		return 0
	}
	if !weighted {
		p.add("", "pass-score", "no check has a weight, and the score is made of weighted checks")
		return 0
	}
	text := string(raw)
	var s string
	if json.Unmarshal(raw, &s) == nil {
		text = strings.TrimSuffix(strings.TrimSpace(s), "%")
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
	switch {
	case err != nil || v <= 0 || v > 100 || math.IsNaN(v):
		p.add("", "pass-score", "%s: want a percentage above 0 and at most 100, e.g. 75%%", raw)
		return 0
	case v < 1:
		p.add("", "pass-score", "%s is read as %g%%, which any single pass reaches: write a percentage, e.g. %g%%", raw, v, v*100)
		return 0
	}
	return v / 100
}

// tally is where the weighted checks stand.
type tally struct {
	total  float64 // the weight of every weighted check not skipped
	passed float64
	failed float64
	short  float64 // decided, neither pass nor fail: inconclusive or undecided
}

func tallyOf(crs []CheckReport) tally {
	var t tally
	for _, c := range crs {
		w := c.Check.Weight
		if w <= 0 || c.Verdict == Skipped {
			continue
		}
		t.total += w
		switch c.Verdict {
		case Pass:
			t.passed += w
		case Fail:
			t.failed += w
		default:
			t.short += w
		}
	}
	return t
}

// reaches reports whether weight w of the total meets the pass-score (with
// room for rounding: weights 3 of 4 reach 75%).
func (t tally) reaches(w, passScore float64) bool {
	return w >= passScore*t.total-1e-9*t.total
}

// lost reports whether the scored part can no longer pass: the weight not
// failed and not short of a pass is below the pass-score.
func (t tally) lost(passScore float64) bool {
	return t.total > 0 && !t.reaches(t.total-t.failed-t.short, passScore)
}

// scoreLost reports, during a run, whether the decisions so far leave too
// little weight able to pass: the run's verdict is then known.
func scoreLost(runs []*checkRun, passScore float64) (bool, string) {
	var crs []CheckReport
	for _, r := range runs {
		v := Pass // not decided yet: it may still pass
		if r.decided {
			v = r.decision.Verdict
		}
		crs = append(crs, CheckReport{Check: r.check, Verdict: v})
	}
	if !tallyOf(crs).lost(passScore) {
		return false, ""
	}
	return true, "not decided: the run ended when the weighted checks could no longer reach the pass-score " + percent(passScore)
}

// scoreVerdict is the scored part's verdict and the words for it, or ""
// when no check has a weight (or every weighted one was skipped).
func scoreVerdict(crs []CheckReport, passScore float64) (Verdict, string) {
	t := tallyOf(crs)
	if t.total == 0 {
		return "", ""
	}
	score := fmt.Sprintf("score %s of weight %s (pass-score %s)", percent(t.passed/t.total), formatFloat(t.total), percent(passScore))
	switch {
	case t.reaches(t.passed, passScore):
		return Pass, score
	case !t.reaches(t.total-t.failed, passScore):
		return Fail, score + "; failed: " + weighted(crs, Fail)
	}
	return Inconclusive, score + "; not judged: " + weighted(crs, Inconclusive, Undecided)
}

// scoreDecidedAt is when the weighted checks' failures made the score
// unreachable: the data time of the failure that tipped it.
func scoreDecidedAt(crs []CheckReport, passScore float64) time.Time {
	t := tallyOf(crs)
	var fails []CheckReport
	for _, c := range crs {
		if c.Check.Weight > 0 && c.Verdict == Fail {
			fails = append(fails, c)
		}
	}
	sort.SliceStable(fails, func(i, j int) bool { return fails[i].DecidedAt.Before(fails[j].DecidedAt) })
	lost := 0.0
	for _, c := range fails {
		lost += c.Check.Weight
		if !t.reaches(t.total-lost, passScore) {
			return c.DecidedAt
		}
	}
	return time.Time{}
}

// weighted lists the weighted checks with one of the verdicts, with their
// weights.
func weighted(crs []CheckReport, vs ...Verdict) string {
	var out []string
	for _, c := range crs {
		for _, v := range vs {
			if c.Check.Weight > 0 && c.Verdict == v {
				out = append(out, fmt.Sprintf("%s (weight %s)", c.Check.Name, formatFloat(c.Check.Weight)))
			}
		}
	}
	return strings.Join(out, ", ")
}

func percent(f float64) string {
	return strconv.FormatFloat(math.Round(f*1000)/10, 'f', -1, 64) + "%"
}
