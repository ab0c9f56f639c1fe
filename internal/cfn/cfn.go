// Package cfn holds the CloudFormation template type and intrinsic-function
// helpers that the compile stage builds and the deploy stage reads. Values
// inside a template are plain JSON-shaped Go values (map[string]any, []any,
// string, bool, int64, float64), so serverless v3's deep-merge of
// `resources` onto compiled resources works on one representation.
package cfn

import (
	"bytes"
	"encoding/json"
)

// Template is a CloudFormation template.
type Template struct {
	AWSTemplateFormatVersion string         `json:"AWSTemplateFormatVersion"`
	Description              string         `json:"Description,omitempty"`
	Metadata                 map[string]any `json:"Metadata,omitempty"`
	Parameters               map[string]any `json:"Parameters,omitempty"`
	Mappings                 map[string]any `json:"Mappings,omitempty"`
	Conditions               map[string]any `json:"Conditions,omitempty"`
	Transform                any            `json:"Transform,omitempty"`
	Rules                    map[string]any `json:"Rules,omitempty"`
	Resources                map[string]any `json:"Resources"`
	Outputs                  map[string]any `json:"Outputs,omitempty"`
}

// New returns an empty template with serverless v3's description.
func New() *Template {
	return &Template{
		AWSTemplateFormatVersion: "2010-09-09",
		Description:              "The AWS CloudFormation template for this Serverless application",
		Resources:                map[string]any{},
		Outputs:                  map[string]any{},
	}
}

// Resource returns the resource map under id, or nil.
func (t *Template) Resource(id string) map[string]any {
	r, _ := t.Resources[id].(map[string]any)
	return r
}

// AddResource sets Resources[id] = {Type, Properties} and returns the
// resource map so callers can add DependsOn, Condition, etc.
func (t *Template) AddResource(id, typ string, props map[string]any) map[string]any {
	r := map[string]any{"Type": typ}
	if props != nil {
		r["Properties"] = props
	}
	t.Resources[id] = r
	return r
}

// AddOutput sets Outputs[id].
func (t *Template) AddOutput(id string, description string, value any) map[string]any {
	o := map[string]any{"Value": value}
	if description != "" {
		o["Description"] = description
	}
	if t.Outputs == nil {
		t.Outputs = map[string]any{}
	}
	t.Outputs[id] = o
	return o
}

// JSON renders the template as serverless v3 writes it: two-space indent,
// no HTML escaping. Go sorts map keys, so output is deterministic.
func (t *Template) JSON() ([]byte, error) { return MarshalIndent(t) }

// MarshalIndent is json.MarshalIndent with two spaces and no HTML escaping.
func MarshalIndent(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// Intrinsic function helpers.

func Ref(name string) map[string]any { return map[string]any{"Ref": name} }

func GetAtt(resource, attr string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{resource, attr}}
}

func Sub(s string) map[string]any { return map[string]any{"Fn::Sub": s} }

func Join(sep string, parts ...any) map[string]any {
	return map[string]any{"Fn::Join": []any{sep, parts}}
}

func ImportValue(v any) map[string]any { return map[string]any{"Fn::ImportValue": v} }

// MarshalCompact is json.Marshal without HTML escaping (JSON.stringify).
func MarshalCompact(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
