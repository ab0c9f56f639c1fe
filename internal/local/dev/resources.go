package dev

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/local/queue"
	"github.com/nimbusfw/nimbus/internal/local/topic"
	"github.com/nimbusfw/nimbus/internal/service"
)

// resource is a queue or topic declared under resources.Resources.
type resource struct {
	logicalID string
	kind      string // "queue" or "topic"
	name      string
}

// plan is everything the service's resources and events declare for the
// local queues and topics.
type plan struct {
	queues    []queue.Config
	topics    []string
	subs      map[string][]topic.Subscription // by topic name
	sources   []queue.Source
	resources map[string]*resource // by logical id
}

// planFromService reads AWS::SQS::Queue, AWS::SNS::Topic and
// AWS::SNS::Subscription resources and the sqs and sns events.
func planFromService(svc *service.Service) (*plan, diag.Diagnostics) {
	var ds diag.Diagnostics
	p := &plan{subs: map[string][]topic.Subscription{}, resources: map[string]*resource{}}
	res := svc.Root.Lookup("resources", "Resources")
	queueIdx := map[string]int{}
	addQueue := func(cfg queue.Config) {
		if i, ok := queueIdx[cfg.Name]; ok {
			if cfg.DeadLetter != "" || cfg.VisibilityTimeout != 0 {
				p.queues[i] = cfg
			}
			return
		}
		queueIdx[cfg.Name] = len(p.queues)
		p.queues = append(p.queues, cfg)
	}
	topicSeen := map[string]bool{}
	addTopic := func(name string) {
		if !topicSeen[name] {
			topicSeen[name] = true
			p.topics = append(p.topics, name)
		}
	}
	if res != nil {
		// Names first, so Refs between resources resolve in any order.
		for _, pr := range res.Pairs {
			props := pr.Value.Get("Properties")
			switch pr.Value.Get("Type").Scalar0() {
			case "AWS::SQS::Queue":
				p.resources[pr.Key] = &resource{logicalID: pr.Key, kind: "queue", name: nameOr(props.Get("QueueName"), pr.Key)}
			case "AWS::SNS::Topic":
				p.resources[pr.Key] = &resource{logicalID: pr.Key, kind: "topic", name: nameOr(props.Get("TopicName"), pr.Key)}
			}
		}
		for _, pr := range res.Pairs {
			props := pr.Value.Get("Properties")
			path := "resources.Resources." + pr.Key
			switch pr.Value.Get("Type").Scalar0() {
			case "AWS::SQS::Queue":
				cfg := queue.Config{Name: p.resources[pr.Key].name}
				if v, ok := props.Get("VisibilityTimeout").Int(); ok {
					cfg.VisibilityTimeout = time.Duration(v) * time.Second
					if v == 0 {
						cfg.VisibilityTimeout = time.Nanosecond
					}
				}
				if v, ok := props.Get("DelaySeconds").Int(); ok {
					cfg.Delay = time.Duration(v) * time.Second
				}
				cfg.FIFO = props.Get("FifoQueue").Truthy()
				cfg.ContentDedup = props.Get("ContentBasedDeduplication").Truthy()
				if rp := props.Get("RedrivePolicy"); rp != nil {
					target := rp.Get("deadLetterTargetArn")
					dlq, ok := p.queueName(target)
					if !ok {
						ds.Warnf(rp.Pos, path+".Properties.RedrivePolicy.deadLetterTargetArn", "cannot tell which queue this is locally; messages are not redriven")
					} else {
						cfg.DeadLetter = dlq
						if v, ok := rp.Get("maxReceiveCount").Int(); ok {
							cfg.MaxReceiveCount = int(v)
						} else if s := rp.Get("maxReceiveCount").Scalar0(); s != "" {
							fmt.Sscan(s, &cfg.MaxReceiveCount)
						}
					}
				}
				addQueue(cfg)
			case "AWS::SNS::Topic":
				name := p.resources[pr.Key].name
				addTopic(name)
				for i, sub := range items(props.Get("Subscription")) {
					s, ok := p.subscription(sub.Get("Protocol").Scalar0(), sub.Get("Endpoint"), svc)
					if !ok {
						ds.Warnf(sub.Pos, fmt.Sprintf("%s.Properties.Subscription.%d", path, i), "only lambda and sqs subscriptions to this service's functions and queues are delivered locally")
						continue
					}
					p.subs[name] = append(p.subs[name], s)
				}
			}
		}
		for _, pr := range res.Pairs {
			if pr.Value.Get("Type").Scalar0() != "AWS::SNS::Subscription" {
				continue
			}
			props := pr.Value.Get("Properties")
			path := "resources.Resources." + pr.Key + ".Properties"
			t, ok := p.topicName(props.Get("TopicArn"))
			if !ok {
				ds.Warnf(props.Pos, path+".TopicArn", "cannot tell which topic this is locally; the subscription is ignored")
				continue
			}
			s, ok := p.subscription(props.Get("Protocol").Scalar0(), props.Get("Endpoint"), svc)
			if !ok {
				ds.Warnf(props.Pos, path, "only lambda and sqs subscriptions to this service's functions and queues are delivered locally")
				continue
			}
			s.Raw = props.Get("RawMessageDelivery").Truthy()
			s.FilterPolicy = policyOf(props.Get("FilterPolicy"))
			s.FilterOnBody = props.Get("FilterPolicyScope").Scalar0() == "MessageBody"
			addTopic(t)
			p.subs[t] = append(p.subs[t], s)
		}
	}
	for _, fn := range svc.Functions {
		for _, ev := range fn.Events {
			path := fmt.Sprintf("functions.%s.events.%d.%s", fn.Key, ev.Index, ev.Type)
			switch ev.Type {
			case "sqs":
				v := ev.Value
				arn := v
				if v != nil && v.Kind == config.Map && v.Get("arn") != nil {
					arn = v.Get("arn")
				}
				name, ok := p.queueName(arn)
				if !ok {
					ds.Errorf(ev.Pos, path+".arn", "cannot tell which queue this is: use an ARN string or Fn::GetAtt [QueueLogicalId, Arn]")
					continue
				}
				if e, ok := v.Get("enabled").Boolean(); ok && !e {
					continue
				}
				src := queue.Source{Function: fn.Key, Queue: name}
				if b, ok := v.Get("batchSize").Int(); ok {
					src.BatchSize = int(b)
				}
				if w, ok := v.Get("maximumBatchingWindow").Int(); ok {
					src.Window = time.Duration(w) * time.Second
				}
				src.ReportFailures = v.Get("functionResponseType").Scalar0() == "ReportBatchItemFailures"
				addQueue(queue.Config{Name: name})
				p.sources = append(p.sources, src)
			case "sns":
				v := ev.Value
				var name string
				var ok bool
				if s, isStr := v.Str(); isStr {
					name, ok = topic.NameFromARN(s), true
				} else if v != nil && v.Kind == config.Map {
					if a := v.Get("arn"); a != nil {
						name, ok = p.topicName(a)
					}
					if tn := v.Get("topicName").Scalar0(); tn != "" && !ok {
						name, ok = tn, true
					}
				}
				if !ok || name == "" {
					ds.Errorf(ev.Pos, path, "cannot tell which topic this is: use a topic name, an ARN or arn: !Ref TopicLogicalId")
					continue
				}
				s := topic.Subscription{Protocol: "lambda", Endpoint: fn.Key}
				if v != nil && v.Kind == config.Map {
					s.FilterPolicy = policyOf(v.Get("filterPolicy"))
					s.FilterOnBody = v.Get("filterPolicyScope").Scalar0() == "MessageBody"
				}
				addTopic(name)
				p.subs[name] = append(p.subs[name], s)
			}
		}
	}
	return p, ds
}

func nameOr(n *config.Node, def string) string {
	if s, ok := n.Str(); ok && s != "" {
		return s
	}
	return def
}

func policyOf(n *config.Node) map[string]any {
	if n == nil {
		return nil
	}
	if s, ok := n.Str(); ok {
		var m map[string]any
		if json.Unmarshal([]byte(s), &m) == nil {
			return m
		}
		return nil
	}
	m, _ := n.Interface().(map[string]any)
	return m
}

// refOf returns the logical id and attribute of {Ref: X} or
// {Fn::GetAtt: [X, Attr]} / {Fn::GetAtt: "X.Attr"}.
func refOf(n *config.Node) (id, attr string, ok bool) {
	if n == nil || n.Kind != config.Map || len(n.Pairs) != 1 {
		return "", "", false
	}
	v := n.Pairs[0].Value
	switch n.Pairs[0].Key {
	case "Ref":
		return v.Scalar0(), "Ref", true
	case "Fn::GetAtt":
		if s, isStr := v.Str(); isStr {
			a, b, _ := strings.Cut(s, ".")
			return a, b, true
		}
		if len(v.Items) == 2 {
			return v.Items[0].Scalar0(), v.Items[1].Scalar0(), true
		}
	}
	return "", "", false
}

func (p *plan) queueName(n *config.Node) (string, bool) {
	if s, ok := n.Str(); ok && s != "" {
		if strings.HasPrefix(s, "arn:") {
			return s[strings.LastIndexByte(s, ':')+1:], true
		}
		if i := strings.LastIndexByte(s, '/'); i >= 0 { // a queue URL
			return s[i+1:], true
		}
		return s, true
	}
	if id, _, ok := refOf(n); ok {
		if r := p.resources[id]; r != nil && r.kind == "queue" {
			return r.name, true
		}
	}
	return "", false
}

func (p *plan) topicName(n *config.Node) (string, bool) {
	if s, ok := n.Str(); ok && s != "" {
		return topic.NameFromARN(s), true
	}
	if id, _, ok := refOf(n); ok {
		if r := p.resources[id]; r != nil && r.kind == "topic" {
			return r.name, true
		}
	}
	return "", false
}

func (p *plan) subscription(protocol string, endpoint *config.Node, svc *service.Service) (topic.Subscription, bool) {
	switch protocol {
	case "sqs":
		if q, ok := p.queueName(endpoint); ok {
			return topic.Subscription{Protocol: "sqs", Endpoint: q}, true
		}
	case "lambda":
		// Endpoint: !GetAtt HelloLambdaFunction.Arn names a function by its
		// v3 logical id; a string ARN names it by deployed name.
		if id, _, ok := refOf(endpoint); ok {
			for _, f := range svc.Functions {
				if strings.EqualFold(logicalFunctionID(f.Key), id) {
					return topic.Subscription{Protocol: "lambda", Endpoint: f.Key}, true
				}
			}
		}
		if s, ok := endpoint.Str(); ok {
			name := s[strings.LastIndex(s, ":function:")+len(":function:"):]
			for _, f := range svc.Functions {
				if f.Name == name || f.Key == name {
					return topic.Subscription{Protocol: "lambda", Endpoint: f.Key}, true
				}
			}
		}
	}
	return topic.Subscription{}, false
}

// logicalFunctionID is v3's logical id of a function: the key with its
// first letter upper-cased, '-' → Dash, '_' → Underscore, + LambdaFunction.
func logicalFunctionID(key string) string {
	if key == "" {
		return ""
	}
	s := strings.ToUpper(key[:1]) + key[1:]
	s = strings.ReplaceAll(s, "-", "Dash")
	s = strings.ReplaceAll(s, "_", "Underscore")
	return s + "LambdaFunction"
}

func items(n *config.Node) []*config.Node {
	if n == nil {
		return nil
	}
	return n.Items
}
