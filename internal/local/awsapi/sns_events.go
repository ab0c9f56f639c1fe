package awsapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nimbusfw/nimbus/internal/local/bus"
	"github.com/nimbusfw/nimbus/internal/local/topic"
)

const snsNS = "http://sns.amazonaws.com/doc/2010-03-31/"

func (s *Server) sns(ctx context.Context, w http.ResponseWriter, action string, form url.Values) {
	if s.Topics == nil {
		writeXMLError(w, 400, "InvalidAction", "SNS is not available")
		return
	}
	switch action {
	case "CreateTopic":
		name := form.Get("Name")
		if name == "" {
			writeXMLError(w, 400, "InvalidParameter", "Invalid parameter: Name")
			return
		}
		s.Topics.Ensure(name)
		writeXML(w, snsNS, action, map[string]any{"TopicArn": s.Topics.ARN(name)})
	case "ListTopics":
		var b strings.Builder
		b.WriteString(`<?xml version="1.0"?><ListTopicsResponse xmlns="` + snsNS + `"><ListTopicsResult><Topics>`)
		for _, n := range s.Topics.Names() {
			b.WriteString("<member><TopicArn>" + s.Topics.ARN(n) + "</TopicArn></member>")
		}
		b.WriteString(`</Topics></ListTopicsResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></ListTopicsResponse>`)
		w.Header().Set("Content-Type", "text/xml")
		w.Write([]byte(b.String()))
	case "Subscribe":
		t, ok := s.Topics.Topic(form.Get("TopicArn"))
		if !ok {
			writeXMLError(w, 404, "NotFound", "Topic does not exist")
			return
		}
		sub := topic.Subscription{Protocol: form.Get("Protocol"), Endpoint: form.Get("Endpoint")}
		for _, e := range indexed(form, "Attributes.entry") {
			switch e.Get("key") {
			case "RawMessageDelivery":
				sub.Raw = e.Get("value") == "true"
			case "FilterPolicy":
				json.Unmarshal([]byte(e.Get("value")), &sub.FilterPolicy)
			case "FilterPolicyScope":
				sub.FilterOnBody = e.Get("value") == "MessageBody"
			}
		}
		if sub.Protocol == "lambda" {
			sub.Endpoint = functionFromARN(sub.Endpoint)
		}
		if sub.Protocol != "lambda" && sub.Protocol != "sqs" {
			writeXMLError(w, 400, "InvalidParameter", "nimbus dev delivers only to lambda and sqs subscriptions")
			return
		}
		t.Subscribe(sub)
		writeXML(w, snsNS, action, map[string]any{"SubscriptionArn": s.Topics.ARN(t.Name) + ":" + sub.Endpoint})
	case "Publish":
		arn := form.Get("TopicArn")
		if arn == "" {
			arn = form.Get("TargetArn")
		}
		m := topic.Message{Subject: form.Get("Subject"), Message: form.Get("Message"), Attributes: map[string]topic.Attribute{}}
		for _, e := range indexed(form, "MessageAttributes.entry") {
			v := e.Get("Value.StringValue")
			if v == "" {
				v = e.Get("Value.BinaryValue")
			}
			m.Attributes[e.Get("Name")] = topic.Attribute{Type: e.Get("Value.DataType"), Value: v}
		}
		id, err := s.Topics.Publish(ctx, arn, m)
		if err != nil {
			writeXMLError(w, 404, "NotFound", err.Error())
			return
		}
		writeXML(w, snsNS, action, map[string]any{"MessageId": id})
	default:
		writeXMLError(w, 400, "InvalidAction", "nimbus dev does not implement SNS "+action)
	}
}

// functionFromARN takes the function name of a Lambda ARN.
func functionFromARN(s string) string {
	if i := strings.LastIndex(s, ":function:"); i >= 0 {
		s = s[i+len(":function:"):]
		if j := strings.IndexByte(s, ':'); j >= 0 {
			s = s[:j]
		}
	}
	return s
}

func (s *Server) events(ctx context.Context, w http.ResponseWriter, action string, body []byte) {
	if action != "PutEvents" || s.Bus == nil {
		writeEventsError(w, "UnknownOperationException", "nimbus dev implements only EventBridge PutEvents")
		return
	}
	var in struct {
		Entries []struct {
			Source       string   `json:"Source"`
			DetailType   string   `json:"DetailType"`
			Detail       string   `json:"Detail"`
			EventBusName string   `json:"EventBusName"`
			Resources    []string `json:"Resources"`
			Time         any      `json:"Time"`
		} `json:"Entries"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeEventsError(w, "ValidationException", err.Error())
		return
	}
	entries := make([]bus.Entry, len(in.Entries))
	for i, e := range in.Entries {
		entries[i] = bus.Entry{Source: e.Source, DetailType: e.DetailType, Detail: e.Detail, EventBusName: e.EventBusName, Resources: e.Resources}
		switch t := e.Time.(type) {
		case float64:
			entries[i].Time = time.Unix(int64(t), 0)
		case string:
			entries[i].Time, _ = time.Parse(time.RFC3339, t)
		}
	}
	ids, err := s.Bus.Put(ctx, entries)
	if err != nil {
		writeEventsError(w, "ValidationException", err.Error())
		return
	}
	out := make([]map[string]string, len(ids))
	for i, id := range ids {
		out[i] = map[string]string{"EventId": id}
	}
	b, _ := json.Marshal(map[string]any{"Entries": out, "FailedEntryCount": 0})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Write(b)
}

func writeEventsError(w http.ResponseWriter, code, msg string) {
	b, _ := json.Marshal(map[string]string{"__type": code, "message": msg})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(400)
	w.Write(b)
}
