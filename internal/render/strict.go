package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
)

// checkYAML checks every document of a YAML stream before anything converts
// it: no mapping holds a key twice, and no document is larger than
// MaxDocumentSize once its aliases are expanded. It works on yaml.v3's node
// tree, where an alias points at its anchor's node, so a "billion laughs"
// document is measured without being expanded.
func checkYAML(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for doc := 1; ; doc++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("not valid YAML: %w", err)
		}
		if err := checkNode(&n); err != nil {
			if doc > 1 {
				return fmt.Errorf("document %d: %w", doc, err)
			}
			return err
		}
	}
}

// checkNode checks one document's node tree.
func checkNode(doc *yaml.Node) error {
	c := expansion{}.of(doc)
	switch {
	case c.bytes > MaxDocumentSize:
		return fmt.Errorf("document is larger than %d bytes once its aliases are expanded (MaxDocumentSize)", MaxDocumentSize)
	case c.nodes > MaxDocumentNodes:
		return fmt.Errorf("document has more than %d nodes once its aliases are expanded (MaxDocumentNodes)", MaxDocumentNodes)
	}
	return duplicateKeys(doc, "")
}

// cost is what a node would take once expanded: about its size as JSON,
// and its number of nodes.
type cost struct{ bytes, nodes int64 }

// over is a cost past both bounds.
var over = cost{MaxDocumentSize + 1, MaxDocumentNodes + 1}

func (c cost) add(d cost) cost {
	return cost{min(c.bytes+d.bytes, over.bytes), min(c.nodes+d.nodes, over.nodes)}
}

func (c cost) exceeded() bool { return c.bytes >= over.bytes || c.nodes >= over.nodes }

// expansion measures nodes as they would be once expanded. Only anchored
// nodes are remembered: every other node is reached once by the walk, an
// anchored one also through each of its aliases.
type expansion map[*yaml.Node]cost

// of is n's cost with every alias expanded, saturated just past the bounds,
// so that the walk stops as soon as one is passed.
func (e expansion) of(n *yaml.Node) cost {
	if n == nil {
		return cost{}
	}
	if n.Anchor != "" {
		if c, ok := e[n]; ok {
			return c
		}
		e[n] = over // an anchor that contains itself is too large
	}
	var c cost
	switch n.Kind {
	case yaml.ScalarNode:
		c = cost{int64(len(n.Value)) + 2, 1}
	case yaml.AliasNode:
		c = e.of(n.Alias)
	default:
		c = cost{2, 1}
		for _, child := range n.Content {
			if c = c.add(e.of(child)).add(cost{bytes: 1}); c.exceeded() {
				break
			}
		}
	}
	if n.Anchor != "" {
		e[n] = c
	}
	return c
}

// duplicateKeys finds a key defined twice in one mapping. It does not
// follow aliases: each anchored node is checked where it is defined. A merge
// key (<<) may repeat keys; YAML lets the mapping's own keys win.
func duplicateKeys(n *yaml.Node, path string) error {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if err := duplicateKeys(c, path); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if err := duplicateKeys(c, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.AliasNode && k.Alias != nil {
				k = k.Alias
			}
			if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
				continue
			}
			if first, ok := seen[k.Value]; ok {
				return fmt.Errorf("key %q is defined twice in %s (line %d, first at line %d)", k.Value, where(path), n.Content[i].Line, first)
			}
			seen[k.Value] = n.Content[i].Line
			child := quoteControl(k.Value)
			if path != "" {
				child = path + "." + child
			}
			if err := duplicateKeys(v, child); err != nil {
				return err
			}
		}
	}
	return nil
}

func where(path string) string {
	if path == "" {
		return "the top-level mapping"
	}
	return path
}
