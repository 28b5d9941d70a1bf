package config

import (
	"fmt"
	"strings"
	"unicode"

	"accessbot/workflow"
)

// threads checks the acknowledgment words of task threads; a list left out
// keeps its defaults (workflow.DefaultThreads).
func (b *builder) threads(raw *rawThreads) {
	t := workflow.DefaultThreads()
	if raw != nil {
		list := func(field string, words []string, dst *[]string) {
			if words == nil {
				return
			}
			path := "threads." + field
			if len(words) == 0 {
				b.add(path, "give at least one word, or leave %s out for the defaults (%s)", field, strings.Join(*dst, ", "))
				return
			}
			seen := map[string]bool{}
			var out []string
			for i, w := range words {
				n := workflow.NormalizeWord(w)
				switch {
				case n == "":
					b.add(fmt.Sprintf("%s[%d]", path, i), "empty: write a word people start a reply with, like done")
					continue
				case !unicode.IsLetter([]rune(n)[0]):
					b.add(fmt.Sprintf("%s[%d]", path, i), "%q must start with a letter", w)
					continue
				case seen[n]:
					b.add(fmt.Sprintf("%s[%d]", path, i), "%q is listed twice", w)
					continue
				}
				seen[n] = true
				out = append(out, n)
			}
			*dst = out
		}
		list("provisioned", raw.Provisioned, &t.ProvisionedWords)
		list("deprovisioned", raw.Deprovisioned, &t.DeprovisionedWords)
		list("wont", raw.Wont, &t.WontWords)
		// A reply must not both mark a step done and not done.
		for _, f := range []struct {
			field string
			words []string
		}{{"provisioned", t.ProvisionedWords}, {"deprovisioned", t.DeprovisionedWords}} {
			field := f.field
			for _, w := range f.words {
				for _, x := range t.WontWords {
					if w == x {
						b.add("threads.wont", "%q is also a %s word: a reply cannot mean both done and not done", w, field)
					}
				}
			}
		}
	}
	b.cat.Threads = t
}
