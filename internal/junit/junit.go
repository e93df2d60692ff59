// Package junit writes JUnit XML as GitLab's test report reads it
// (`artifacts:reports:junit`): the element and attribute names, and the
// encoding. The stages that have verdicts, verify and drift, decide what
// goes into the cases. Every text is masked on the way out (redact.Text):
// a report is an artifact that anyone who can read the pipeline can read.
package junit

import (
	"bytes"
	"encoding/xml"
	"fmt"

	"gitlab.com/platform/bluegreen/internal/redact"
)

// Suites is the document.
type Suites struct {
	XMLName  xml.Name `xml:"testsuites"`
	Name     string   `xml:"name,attr"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Time     string   `xml:"time,attr,omitempty"`
	Suites   []Suite  `xml:"testsuite"`
}

// Suite is one testsuite.
type Suite struct {
	Name       string      `xml:"name,attr"`
	Tests      int         `xml:"tests,attr"`
	Failures   int         `xml:"failures,attr"`
	Errors     int         `xml:"errors,attr"`
	Skipped    int         `xml:"skipped,attr"`
	Time       string      `xml:"time,attr,omitempty"`
	Timestamp  string      `xml:"timestamp,attr"`
	Properties *Properties `xml:"properties,omitempty"`
	Cases      []Case      `xml:"testcase"`
}

// Properties are a suite's properties.
type Properties struct {
	List []Property `xml:"property"`
}

// Property is a suite property.
type Property struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// Case is one testcase: passed, or with a failure, an error or a skip.
type Case struct {
	Name      string   `xml:"name,attr"`
	Classname string   `xml:"classname,attr"`
	Time      string   `xml:"time,attr,omitempty"`
	Failure   *Problem `xml:"failure,omitempty"`
	Error     *Problem `xml:"error,omitempty"`
	Skipped   *Problem `xml:"skipped,omitempty"`
	SystemOut string   `xml:"system-out,omitempty"`
}

// Problem is a failure, an error or a skip: a one-line message and details.
type Problem struct {
	Type    string `xml:"type,attr,omitempty"`
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

// Single wraps one suite in a document whose totals are the suite's.
func Single(name string, s Suite) Suites {
	return Suites{Name: name, Tests: s.Tests, Failures: s.Failures, Errors: s.Errors, Skipped: s.Skipped, Time: s.Time, Suites: []Suite{s}}
}

// Encode renders the document with the XML header, indented, with the
// credentials of every URL in its texts masked. doc is not changed.
func Encode(doc Suites) ([]byte, error) {
	doc = masked(doc)
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode JUnit: %w", err)
	}
	b.WriteString("\n")
	return b.Bytes(), nil
}

// masked returns a copy of doc whose texts went through redact.Text.
func masked(doc Suites) Suites {
	doc.Name = redact.Text(doc.Name)
	suites := make([]Suite, len(doc.Suites))
	for i, s := range doc.Suites {
		s.Name = redact.Text(s.Name)
		if s.Properties != nil {
			list := make([]Property, len(s.Properties.List))
			for j, p := range s.Properties.List {
				list[j] = Property{Name: p.Name, Value: redact.Text(p.Value)}
			}
			s.Properties = &Properties{List: list}
		}
		cases := make([]Case, len(s.Cases))
		for j, c := range s.Cases {
			c.Name, c.Classname, c.SystemOut = redact.Text(c.Name), redact.Text(c.Classname), redact.Text(c.SystemOut)
			c.Failure, c.Error, c.Skipped = maskedProblem(c.Failure), maskedProblem(c.Error), maskedProblem(c.Skipped)
			cases[j] = c
		}
		s.Cases = cases
		suites[i] = s
	}
	doc.Suites = suites
	return doc
}

func maskedProblem(p *Problem) *Problem {
	if p == nil {
		return nil
	}
	return &Problem{Type: p.Type, Message: redact.Text(p.Message), Body: redact.Text(p.Body)}
}
