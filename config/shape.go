package config

import (
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// shape walks the document alongside the raw type it decodes into and fixes,
// in place, what would make the decoder lose track of paths, reporting each:
//
//   - a value of the wrong kind (a list where a mapping belongs, ...) becomes
//     an empty value of the right kind: the decoder would drop it from its
//     list and renumber the items after it;
//   - an empty list item becomes an empty value, for the same reason;
//   - a key repeated in a mapping is removed: the decoder skips a mapping
//     with a repeated key altogether.
//
// Paths whose value was replaced are added to c.failed, so that validation
// does not also report them as missing.
func (c *checker) shape(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.DocumentNode {
		for _, child := range n.Content {
			c.shape(child, t, path)
		}
		return
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return // it reads any shape and says itself what is wrong
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	target := n
	for target.Kind == yaml.AliasNode && target.Alias != nil {
		target = target.Alias
	}
	if target.ShortTag() == "!!null" {
		return // absent; list items are checked by the list
	}
	want := kindFor(t)
	if target.Kind != want {
		c.problems = append(c.problems, Problem{Path: path, Message: fmt.Sprintf("expected %s, found %s", describeKind(want, t), describeNode(target)), Line: n.Line})
		c.failed = append(c.failed, path)
		*n = emptyNode(t, n.Line)
		return
	}
	if n.Kind == yaml.AliasNode {
		return // the anchor is checked where it is defined
	}
	switch n.Kind {
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			if item.Kind == yaml.ScalarNode && item.ShortTag() == "!!null" {
				c.problems = append(c.problems, Problem{Path: p, Message: `empty list item: fill it in or remove the "-"`, Line: item.Line})
				c.failed = append(c.failed, p)
				*item = emptyNode(t.Elem(), item.Line)
				continue
			}
			c.shape(item, t.Elem(), p)
		}
	case yaml.MappingNode:
		c.dropRepeatedKeys(n, path)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" || k.ShortTag() == "!!merge" {
				continue
			}
			p := join(path, k.Value)
			switch t.Kind() {
			case reflect.Map:
				c.shape(v, t.Elem(), p)
			case reflect.Struct:
				if ft, ok := fieldType(t, k.Value); ok {
					c.shape(v, ft, p)
				} // unknown fields: the strict decoder reports them
			}
		}
	}
}

// dropRepeatedKeys keeps the first of each key of a mapping.
func (c *checker) dropRepeatedKeys(n *yaml.Node, path string) {
	first := map[string]int{}
	kept := n.Content[:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value != "<<" {
			if line, seen := first[k.Value]; seen {
				c.problems = append(c.problems, Problem{Path: join(path, k.Value), Message: fmt.Sprintf("duplicate key %q (first at line %d): keep one", k.Value, line), Line: k.Line})
				continue
			}
			first[k.Value] = k.Line
		}
		kept = append(kept, k, v)
	}
	n.Content = kept
}

// fieldType returns the type of the field of struct t named name in YAML,
// looking into inlined structs.
func fieldType(t reflect.Type, name string) (reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == ",inline" {
			if ft, ok := fieldType(f.Type, name); ok {
				return ft, true
			}
			continue
		}
		if strings.Split(tag, ",")[0] == name {
			return f.Type, true
		}
	}
	return nil, false
}

func kindFor(t reflect.Type) yaml.Kind {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return yaml.MappingNode
	case reflect.Slice:
		return yaml.SequenceNode
	}
	return yaml.ScalarNode
}

func emptyNode(t reflect.Type, line int) yaml.Node {
	switch t.Kind() {
	case reflect.Struct:
		return yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line}
	case reflect.String:
		return yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Line: line}
	}
	return yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null", Line: line}
}

func describeKind(k yaml.Kind, t reflect.Type) string {
	switch k {
	case yaml.MappingNode:
		if t.Kind() == reflect.Map {
			return "a mapping of names"
		}
		return "a mapping (" + allowedFields[t.String()] + ")"
	case yaml.SequenceNode:
		return "a list"
	}
	return "a single value"
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:37] + "..."
	}
	return fmt.Sprintf("%q", v)
}
