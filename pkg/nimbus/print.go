package nimbus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/service"
)

// PrintOptions mirror `sls print`'s flags.
type PrintOptions struct {
	// Format is yaml (default), json or text.
	Format string
	// Path selects a sub-tree by dotted keys ("provider.environment").
	Path string
	// Transform "keys" prints only the keys of the selected value.
	Transform string
	// ShowSecrets prints SSM SecureString values instead of masking them.
	ShowSecrets bool
}

// SecretMask replaces secret values in printed output.
const SecretMask = "********"

// Config returns the resolved configuration as serverless v3 prints it (the
// resolved input plus v3's start-up defaults), secrets masked unless
// showSecrets.
func (p *Project) Config(showSecrets bool) *config.Node {
	root := p.Service.Root
	if p.printed != nil {
		root = p.printed
	}
	view := service.V3View(root, p.Service.Options)
	if !showSecrets {
		maskSecrets(view)
	}
	return view
}

// Print renders the configuration like `sls print`.
func (p *Project) Print(opts PrintOptions) ([]byte, error) {
	conf := p.Config(opts.ShowSecrets)
	if opts.Path != "" {
		for _, step := range strings.Split(opts.Path, ".") {
			conf = step1(conf, step)
			// v3 rejects any falsy value on the way, not only missing ones.
			if !conf.Truthy() {
				return nil, fmt.Errorf("path %q not found", opts.Path)
			}
		}
	}
	switch opts.Transform {
	case "":
	case "keys":
		conf = keysOf(conf)
	default:
		return nil, fmt.Errorf(`transform can only be "keys", not %q`, opts.Transform)
	}
	switch opts.Format {
	case "", "yaml":
		return toYAML(conf)
	case "json":
		raw, err := conf.MarshalJSON()
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		if err := json.Indent(&b, raw, "", "  "); err != nil {
			return nil, err
		}
		b.WriteByte('\n')
		return b.Bytes(), nil
	case "text":
		switch conf.Kind {
		case config.Map:
			return nil, fmt.Errorf(`cannot print an object as "text"`)
		case config.Seq:
			lines := make([]string, len(conf.Items))
			for i, it := range conf.Items {
				lines[i] = it.Scalar()
			}
			return []byte(strings.Join(lines, "\n") + "\n"), nil
		}
		return []byte(conf.Scalar() + "\n"), nil
	}
	return nil, fmt.Errorf(`format must be "yaml", "json" or "text", not %q`, opts.Format)
}

func step1(n *config.Node, key string) *config.Node {
	if n == nil {
		return nil
	}
	if n.Kind == config.Seq {
		i, err := strconv.Atoi(key)
		if err != nil || i < 0 || i >= len(n.Items) {
			return nil
		}
		return n.Items[i]
	}
	return n.Get(key)
}

// keysOf is JavaScript's Object.keys: map keys, or indexes of a list or string.
func keysOf(n *config.Node) *config.Node {
	out := config.NewSeq(n.Pos)
	switch n.Kind {
	case config.Map:
		for _, k := range n.Keys() {
			out.Items = append(out.Items, config.NewString(k, n.Pos))
		}
	case config.Seq:
		for i := range n.Items {
			out.Items = append(out.Items, config.NewString(strconv.Itoa(i), n.Pos))
		}
	case config.String:
		for i := range []rune(n.Value.(string)) {
			out.Items = append(out.Items, config.NewString(strconv.Itoa(i), n.Pos))
		}
	}
	return out
}

func maskSecrets(n *config.Node) {
	config.Walk(n, nil, func(x *config.Node, _ config.Path) bool {
		if x.Sensitive && x.IsScalar() {
			x.Kind, x.Value = config.String, SecretMask
		}
		return true
	})
}

// toYAML writes the tree as block YAML with two-space indentation, the shape
// js-yaml's dump gives.
func toYAML(n *config.Node) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(yamlNode(n)); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func yamlNode(n *config.Node) *yaml.Node {
	if n == nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	switch n.Kind {
	case config.Map:
		y := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, p := range n.Pairs {
			y.Content = append(y.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p.Key}, yamlNode(p.Value))
		}
		return y
	case config.Seq:
		y := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, it := range n.Items {
			y.Content = append(y.Content, yamlNode(it))
		}
		return y
	case config.Null:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	case config.Bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: n.Scalar()}
	case config.Int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: n.Scalar()}
	case config.Float:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: n.Scalar()}
	}
	s := n.Value.(string)
	y := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if strings.Contains(s, "\n") {
		y.Style = yaml.LiteralStyle
	}
	return y
}
