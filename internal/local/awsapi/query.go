package awsapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// indexed collects Prefix.N.* parameters of a query request by N.
func indexed(form url.Values, prefix string) []url.Values {
	byN := map[int]url.Values{}
	for k, vs := range form {
		rest, ok := strings.CutPrefix(k, prefix+".")
		if !ok {
			continue
		}
		nStr, field, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(nStr)
		if err != nil {
			continue
		}
		if byN[n] == nil {
			byN[n] = url.Values{}
		}
		byN[n][field] = vs
	}
	ns := make([]int, 0, len(byN))
	for n := range byN {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	out := make([]url.Values, len(ns))
	for i, n := range ns {
		out[i] = byN[n]
	}
	return out
}

func intPtr(s string) *int {
	if s == "" {
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return nil
	}
	return &n
}

func queryMsgAttrs(form url.Values, prefix string) map[string]msgAttr {
	entries := indexed(form, prefix)
	if len(entries) == 0 {
		return nil
	}
	out := map[string]msgAttr{}
	for _, e := range entries {
		a := msgAttr{DataType: e.Get("Value.DataType"), StringValue: e.Get("Value.StringValue")}
		if b := e.Get("Value.BinaryValue"); b != "" {
			a.BinaryValue = decodeBinary(b)
		}
		out[e.Get("Name")] = a
	}
	return out
}

// sqsQueryInput converts query parameters to the JSON request shape.
func sqsQueryInput(form url.Values) *sqsInput {
	in := &sqsInput{
		QueueName: form.Get("QueueName"), QueueUrl: form.Get("QueueUrl"),
		MessageBody: form.Get("MessageBody"), DelaySeconds: intPtr(form.Get("DelaySeconds")),
		MessageGroupId: form.Get("MessageGroupId"), MessageDeduplicationId: form.Get("MessageDeduplicationId"),
		VisibilityTimeout: intPtr(form.Get("VisibilityTimeout")), ReceiptHandle: form.Get("ReceiptHandle"),
		QueueNamePrefix: form.Get("QueueNamePrefix"),
	}
	in.MaxNumberOfMessages, _ = strconv.Atoi(form.Get("MaxNumberOfMessages"))
	in.WaitTimeSeconds, _ = strconv.Atoi(form.Get("WaitTimeSeconds"))
	in.MessageAttributes = queryMsgAttrs(form, "MessageAttribute")
	if attrs := indexed(form, "Attribute"); len(attrs) > 0 {
		in.Attributes = map[string]string{}
		for _, a := range attrs {
			in.Attributes[a.Get("Name")] = a.Get("Value")
		}
	}
	for k, v := range form {
		if strings.HasPrefix(k, "AttributeName") {
			in.AttributeNames = append(in.AttributeNames, v...)
		}
	}
	for _, prefix := range []string{"SendMessageBatchRequestEntry", "DeleteMessageBatchRequestEntry", "ChangeMessageVisibilityBatchRequestEntry"} {
		for _, e := range indexed(form, prefix) {
			entry := sqsEntry{Id: e.Get("Id"), MessageBody: e.Get("MessageBody"), DelaySeconds: intPtr(e.Get("DelaySeconds")),
				MessageGroupId: e.Get("MessageGroupId"), MessageDeduplicationId: e.Get("MessageDeduplicationId"),
				ReceiptHandle: e.Get("ReceiptHandle"), VisibilityTimeout: intPtr(e.Get("VisibilityTimeout"))}
			entry.MessageAttributes = queryMsgAttrs(e, "MessageAttribute")
			in.Entries = append(in.Entries, entry)
		}
	}
	return in
}

var queryErrorCodes = map[string]string{"QueueDoesNotExist": "AWS.SimpleQueueService.NonExistentQueue"}

func (s *Server) sqsQuery(ctx context.Context, w http.ResponseWriter, action string, form url.Values) {
	out, err := s.sqs(ctx, action, sqsQueryInput(form))
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{500, "InternalError", err.Error()}
		}
		code := ae.code
		if c, ok := queryErrorCodes[code]; ok {
			code = c
		}
		writeXMLError(w, ae.status, code, ae.msg)
		return
	}
	writeXML(w, "http://queue.amazonaws.com/doc/2012-11-05/", action, out)
}

func writeXMLError(w http.ResponseWriter, status int, code, msg string) {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>`)
	xml.EscapeText(&b, []byte(code))
	b.WriteString(`</Code><Message>`)
	xml.EscapeText(&b, []byte(msg))
	b.WriteString(`</Message><Detail/></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>`)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// writeXML renders a JSON-shaped result in the query protocol's XML.
func writeXML(w http.ResponseWriter, ns, action string, out map[string]any) {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0"?><` + action + `Response xmlns="` + ns + `">`)
	if len(out) > 0 {
		b.WriteString("<" + action + "Result>")
		writeFields(&b, action, out)
		b.WriteString("</" + action + "Result>")
	}
	b.WriteString(`<ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></` + action + `Response>`)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(200)
	w.Write(b.Bytes())
}

func writeFields(b *bytes.Buffer, action string, m map[string]any) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		writeField(b, action, k, m[k])
	}
}

// listElement names the repeated element of a flattened list.
func listElement(action, key string) string {
	switch key {
	case "Messages":
		return "Message"
	case "QueueUrls":
		return "QueueUrl"
	case "Successful":
		return strings.TrimSuffix(action, "Batch") + "BatchResultEntry"
	case "Failed":
		return "BatchResultErrorEntry"
	}
	return "member"
}

func writeField(b *bytes.Buffer, action, key string, v any) {
	switch x := v.(type) {
	case map[string]string: // Attributes
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			b.WriteString("<Attribute><Name>")
			xml.EscapeText(b, []byte(k))
			b.WriteString("</Name><Value>")
			xml.EscapeText(b, []byte(x[k]))
			b.WriteString("</Value></Attribute>")
		}
	case map[string]msgAttr:
		for k, a := range x {
			b.WriteString("<MessageAttribute><Name>")
			xml.EscapeText(b, []byte(k))
			b.WriteString("</Name><Value><DataType>")
			xml.EscapeText(b, []byte(a.DataType))
			b.WriteString("</DataType>")
			if a.BinaryValue != nil {
				b.WriteString("<BinaryValue>" + base64.StdEncoding.EncodeToString(a.BinaryValue) + "</BinaryValue>")
			} else {
				b.WriteString("<StringValue>")
				xml.EscapeText(b, []byte(a.StringValue))
				b.WriteString("</StringValue>")
			}
			b.WriteString("</Value></MessageAttribute>")
		}
	case []map[string]any:
		el := listElement(action, key)
		for _, e := range x {
			b.WriteString("<" + el + ">")
			writeFields(b, action, e)
			b.WriteString("</" + el + ">")
		}
	case []any:
		el := listElement(action, key)
		for _, e := range x {
			b.WriteString("<" + el + ">")
			if m, ok := e.(map[string]any); ok {
				writeFields(b, action, m)
			} else {
				xml.EscapeText(b, []byte(toString(e)))
			}
			b.WriteString("</" + el + ">")
		}
	case []string:
		el := listElement(action, key)
		for _, e := range x {
			b.WriteString("<" + el + ">")
			xml.EscapeText(b, []byte(e))
			b.WriteString("</" + el + ">")
		}
	default:
		b.WriteString("<" + key + ">")
		xml.EscapeText(b, []byte(toString(v)))
		b.WriteString("</" + key + ">")
	}
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}
