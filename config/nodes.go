package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// nodeIndex maps the paths of a parsed YAML document to lines, and lines back
// to paths (the decoder's errors name only a line).
type nodeIndex struct {
	lines  map[string]int // path -> line of its key (mapping) or item (sequence)
	keys   []keyPos
	values []valuePos
}

type keyPos struct {
	line int
	name string
	path string
}

type valuePos struct {
	line int
	path string
}

func (x *nodeIndex) walk(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			x.values = append(x.values, valuePos{c.Line, path})
			x.walk(c, path)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" || k.Value == "<<" {
				continue // merged keys belong to the anchor's path
			}
			p := join(path, k.Value)
			if _, ok := x.lines[p]; !ok {
				x.lines[p] = k.Line
			}
			x.keys = append(x.keys, keyPos{k.Line, k.Value, p})
			x.values = append(x.values, valuePos{v.Line, p})
			x.walk(v, p)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			x.lines[p] = c.Line
			x.values = append(x.values, valuePos{c.Line, p})
			x.walk(c, p)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// parent strips the last element of a path: `apps[2].id` -> `apps[2]` -> `apps`.
func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// line returns the line of path or, when the path is not in the file (a
// missing field), of its nearest ancestor that is.
func (x *nodeIndex) line(path string) int {
	if x == nil {
		return 0
	}
	for p := path; p != ""; p = parent(p) {
		if l, ok := x.lines[p]; ok {
			return l
		}
	}
	return 0
}

// keyPath returns the path of the mapping key name on line.
func (x *nodeIndex) keyPath(line int, name string) string {
	for _, k := range x.keys {
		if k.line == line && k.name == name {
			return k.path
		}
	}
	return ""
}

// pathAt returns the path of the innermost value that starts on line.
func (x *nodeIndex) pathAt(line int) string {
	path := ""
	for _, v := range x.values {
		if v.line == line {
			path = v.path
		}
	}
	return path
}
