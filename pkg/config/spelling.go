package config

import (
	"errors"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ErrNoFile is matched by the error Load returns when no file was named and
// the default file does not exist.
var ErrNoFile = errors.New("no configuration file")

// NoFileError says which file Load looked for and did not find.
type NoFileError struct {
	// Looked is the path that was tried, as a person would type it.
	Looked string
}

func (e *NoFileError) Error() string {
	return "no configuration file was found (looked for " + e.Looked + ")"
}

// Is makes NoFileError match ErrNoFile.
func (e *NoFileError) Is(target error) bool { return target == ErrNoFile }

// defaultFileShown is how the default file is named in messages.
func defaultFileShown(dir string) string {
	if dir == "" {
		return "./" + DefaultFile
	}
	return filepath.Join(dir, DefaultFile)
}

// spelling maps a lower-cased key path (viper lower-cases every key) to the
// spelling a person wrote or the reference uses, one path segment at a time:
// "github.automerge" -> "autoMerge".
type spelling map[string]string

// typeSpelling is the reference spelling of every key the types declare.
var typeSpelling = func() spelling {
	s := spelling{}
	var add func(prefix string, t reflect.Type)
	add = func(prefix string, t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t.PkgPath() == "time" {
			return
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := f.Tag.Get("mapstructure")
			if name == "" {
				name, _, _ = strings.Cut(f.Tag.Get("json"), ",")
			}
			if name == "" || name == "-" {
				continue
			}
			k := strings.ToLower(strings.TrimPrefix(prefix+"."+name, "."))
			s[k] = name
			add(k, f.Type)
		}
	}
	add("", reflect.TypeOf(rawConfig{}))
	return s
}()

// addKey records the spelling of a dotted key such as "equifax.concurrencyy".
func (s spelling) addKey(key string) {
	var path string
	for _, seg := range strings.Split(key, ".") {
		path = strings.TrimPrefix(path+"."+strings.ToLower(seg), ".")
		if _, ok := s[path]; !ok {
			s[path] = seg
		}
	}
}

// addYAML records the spelling of every mapping key in a YAML document;
// the file's spelling wins over the reference's.
func (s spelling) addYAML(b []byte) {
	var doc yaml.Node
	if yaml.Unmarshal(b, &doc) != nil {
		return
	}
	var walk func(prefix string, n *yaml.Node)
	walk = func(prefix string, n *yaml.Node) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(prefix, c)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				seg := n.Content[i].Value
				p := strings.TrimPrefix(prefix+"."+strings.ToLower(seg), ".")
				s[p] = seg
				walk(p, n.Content[i+1])
			}
		}
	}
	walk("", &doc)
}

var index = regexp.MustCompile(`\[\d+\]`)

// respell gives key (dotted, maybe with [i] indices, maybe lower-cased) the
// spelling of the file, or of the reference where the file has none.
func (s spelling) respell(key string) string {
	if strings.HasPrefix(key, EnvPrefix+"_") || strings.HasPrefix(key, "(") {
		return key
	}
	segs := strings.Split(key, ".")
	var path string
	for i, seg := range segs {
		bare := index.ReplaceAllString(seg, "")
		suffix := seg[len(bare):]
		if !strings.HasPrefix(seg, bare) {
			return key
		}
		path = strings.TrimPrefix(path+"."+strings.ToLower(bare), ".")
		if sp, ok := s[path]; ok {
			segs[i] = sp + suffix
		} else if sp, ok := typeSpelling[path]; ok {
			segs[i] = sp + suffix
		}
	}
	return strings.Join(segs, ".")
}

// Spelling returns key (such as "providers[0].currentSecret.env") as the
// configuration file spells it, so that a message names what a person
// wrote; keys the file does not have keep the reference spelling.
func (c *Config) Spelling(key string) string {
	return c.spell.respell(key)
}
