package route53

import "encoding/xml"

// Namespace is the XML namespace of every Route 53 request and response body.
const Namespace = "https://route53.amazonaws.com/doc/2013-04-01/"

// The request and response shapes below follow Route 53's API reference
// (and the service model the AWS SDKs are generated from) element for
// element. Request structs match their root element by local name in any
// namespace; optional inputs that healthdns does not support are decoded
// too, so that their presence is refused by name rather than ignored.

type xmlHostedZoneConfig struct {
	Comment     string `xml:"Comment,omitempty"`
	PrivateZone *bool  `xml:"PrivateZone,omitempty"`
}

type xmlHostedZone struct {
	ID                     string               `xml:"Id"`
	Name                   string               `xml:"Name"`
	CallerReference        string               `xml:"CallerReference"`
	Config                 *xmlHostedZoneConfig `xml:"Config,omitempty"`
	ResourceRecordSetCount int64                `xml:"ResourceRecordSetCount"`
}

type xmlChangeInfo struct {
	ID          string `xml:"Id"`
	Status      string `xml:"Status"`
	SubmittedAt string `xml:"SubmittedAt"`
	Comment     string `xml:"Comment,omitempty"`
}

type xmlDelegationSet struct {
	NameServers []string `xml:"NameServers>NameServer"`
}

type xmlVPC struct {
	VPCRegion string `xml:"VPCRegion,omitempty"`
	VPCId     string `xml:"VPCId,omitempty"`
}

type createHostedZoneRequest struct {
	XMLName          xml.Name             `xml:"CreateHostedZoneRequest"`
	Name             string               `xml:"Name"`
	CallerReference  string               `xml:"CallerReference"`
	HostedZoneConfig *xmlHostedZoneConfig `xml:"HostedZoneConfig"`
	VPC              *xmlVPC              `xml:"VPC"`
	DelegationSetID  string               `xml:"DelegationSetId"`
}

type createHostedZoneResponse struct {
	XMLName       xml.Name         `xml:"https://route53.amazonaws.com/doc/2013-04-01/ CreateHostedZoneResponse"`
	HostedZone    xmlHostedZone    `xml:"HostedZone"`
	ChangeInfo    xmlChangeInfo    `xml:"ChangeInfo"`
	DelegationSet xmlDelegationSet `xml:"DelegationSet"`
}

type getHostedZoneResponse struct {
	XMLName       xml.Name         `xml:"https://route53.amazonaws.com/doc/2013-04-01/ GetHostedZoneResponse"`
	HostedZone    xmlHostedZone    `xml:"HostedZone"`
	DelegationSet xmlDelegationSet `xml:"DelegationSet"`
}

type listHostedZonesResponse struct {
	XMLName     xml.Name        `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListHostedZonesResponse"`
	HostedZones []xmlHostedZone `xml:"HostedZones>HostedZone"`
	Marker      string          `xml:"Marker"`
	IsTruncated bool            `xml:"IsTruncated"`
	NextMarker  string          `xml:"NextMarker,omitempty"`
	MaxItems    string          `xml:"MaxItems"`
}

type listHostedZonesByNameResponse struct {
	XMLName          xml.Name        `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListHostedZonesByNameResponse"`
	HostedZones      []xmlHostedZone `xml:"HostedZones>HostedZone"`
	DNSName          string          `xml:"DNSName,omitempty"`
	HostedZoneID     string          `xml:"HostedZoneId,omitempty"`
	IsTruncated      bool            `xml:"IsTruncated"`
	NextDNSName      string          `xml:"NextDNSName,omitempty"`
	NextHostedZoneID string          `xml:"NextHostedZoneId,omitempty"`
	MaxItems         string          `xml:"MaxItems"`
}

type getHostedZoneCountResponse struct {
	XMLName         xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ GetHostedZoneCountResponse"`
	HostedZoneCount int64    `xml:"HostedZoneCount"`
}

type deleteHostedZoneResponse struct {
	XMLName    xml.Name      `xml:"https://route53.amazonaws.com/doc/2013-04-01/ DeleteHostedZoneResponse"`
	ChangeInfo xmlChangeInfo `xml:"ChangeInfo"`
}

type updateHostedZoneCommentRequest struct {
	XMLName xml.Name `xml:"UpdateHostedZoneCommentRequest"`
	Comment string   `xml:"Comment"`
}

type updateHostedZoneCommentResponse struct {
	XMLName    xml.Name      `xml:"https://route53.amazonaws.com/doc/2013-04-01/ UpdateHostedZoneCommentResponse"`
	HostedZone xmlHostedZone `xml:"HostedZone"`
}

type xmlAliasTarget struct {
	HostedZoneID         string `xml:"HostedZoneId"`
	DNSName              string `xml:"DNSName"`
	EvaluateTargetHealth bool   `xml:"EvaluateTargetHealth"`
}

type xmlGeoLocation struct {
	ContinentCode   string `xml:"ContinentCode,omitempty"`
	CountryCode     string `xml:"CountryCode,omitempty"`
	SubdivisionCode string `xml:"SubdivisionCode,omitempty"`
}

type xmlCidrRoutingConfig struct {
	CollectionID string `xml:"CollectionId"`
	LocationName string `xml:"LocationName"`
}

// xmlPresent records that an element was given, whatever it holds.
type xmlPresent struct {
	Inner string `xml:",innerxml"`
}

type xmlResourceRecord struct {
	Value string `xml:"Value"`
}

type xmlResourceRecordSet struct {
	Name                    string                `xml:"Name"`
	Type                    string                `xml:"Type"`
	SetIdentifier           string                `xml:"SetIdentifier,omitempty"`
	Weight                  *int64                `xml:"Weight,omitempty"`
	Region                  string                `xml:"Region,omitempty"`
	GeoLocation             *xmlGeoLocation       `xml:"GeoLocation,omitempty"`
	Failover                string                `xml:"Failover,omitempty"`
	MultiValueAnswer        *bool                 `xml:"MultiValueAnswer,omitempty"`
	TTL                     *int64                `xml:"TTL,omitempty"`
	ResourceRecords         []xmlResourceRecord   `xml:"ResourceRecords>ResourceRecord,omitempty"`
	AliasTarget             *xmlAliasTarget       `xml:"AliasTarget,omitempty"`
	HealthCheckID           string                `xml:"HealthCheckId,omitempty"`
	TrafficPolicyInstanceID string                `xml:"TrafficPolicyInstanceId,omitempty"`
	CidrRoutingConfig       *xmlCidrRoutingConfig `xml:"CidrRoutingConfig,omitempty"`
	GeoProximityLocation    *xmlPresent           `xml:"GeoProximityLocation,omitempty"`
}

type xmlChange struct {
	Action            string               `xml:"Action"`
	ResourceRecordSet xmlResourceRecordSet `xml:"ResourceRecordSet"`
}

type changeResourceRecordSetsRequest struct {
	XMLName     xml.Name `xml:"ChangeResourceRecordSetsRequest"`
	ChangeBatch *struct {
		Comment string      `xml:"Comment"`
		Changes []xmlChange `xml:"Changes>Change"`
	} `xml:"ChangeBatch"`
}

type changeResourceRecordSetsResponse struct {
	XMLName    xml.Name      `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ChangeResourceRecordSetsResponse"`
	ChangeInfo xmlChangeInfo `xml:"ChangeInfo"`
}

type listResourceRecordSetsResponse struct {
	XMLName              xml.Name               `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListResourceRecordSetsResponse"`
	ResourceRecordSets   []xmlResourceRecordSet `xml:"ResourceRecordSets>ResourceRecordSet"`
	IsTruncated          bool                   `xml:"IsTruncated"`
	NextRecordName       string                 `xml:"NextRecordName,omitempty"`
	NextRecordType       string                 `xml:"NextRecordType,omitempty"`
	NextRecordIdentifier string                 `xml:"NextRecordIdentifier,omitempty"`
	MaxItems             string                 `xml:"MaxItems"`
}

type getChangeResponse struct {
	XMLName    xml.Name      `xml:"https://route53.amazonaws.com/doc/2013-04-01/ GetChangeResponse"`
	ChangeInfo xmlChangeInfo `xml:"ChangeInfo"`
}

type xmlTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type changeTagsForResourceRequest struct {
	XMLName       xml.Name `xml:"ChangeTagsForResourceRequest"`
	AddTags       []xmlTag `xml:"AddTags>Tag"`
	RemoveTagKeys []string `xml:"RemoveTagKeys>Key"`
}

type changeTagsForResourceResponse struct {
	XMLName xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ChangeTagsForResourceResponse"`
}

type listTagsForResourceResponse struct {
	XMLName        xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListTagsForResourceResponse"`
	ResourceTagSet struct {
		ResourceType string   `xml:"ResourceType"`
		ResourceID   string   `xml:"ResourceId"`
		Tags         []xmlTag `xml:"Tags>Tag"`
	} `xml:"ResourceTagSet"`
}

type testDNSAnswerResponse struct {
	XMLName      xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ TestDNSAnswerResponse"`
	Nameserver   string   `xml:"Nameserver"`
	RecordName   string   `xml:"RecordName"`
	RecordType   string   `xml:"RecordType"`
	RecordData   []string `xml:"RecordData>RecordDataEntry"`
	ResponseCode string   `xml:"ResponseCode"`
	Protocol     string   `xml:"Protocol"`
}

// xmlError is the Error element of an error body.
type xmlError struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// errorResponse is the body of every error but InvalidChangeBatch.
type errorResponse struct {
	XMLName   xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ErrorResponse"`
	Error     xmlError `xml:"Error"`
	RequestID string   `xml:"RequestId"`
}

// invalidChangeBatchResponse is Route 53's own body for InvalidChangeBatch:
// one Message per bad change, which the AWS SDKs read into
// InvalidChangeBatch.Messages. The Error element beside them, with all the
// messages in Route 53's "[m1, m2]" form, is for clients that only read
// Error/Code and Error/Message from any root element (botocore, and so the
// AWS CLI); the SDKs skip it.
type invalidChangeBatchResponse struct {
	XMLName   xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ InvalidChangeBatch"`
	Messages  []string `xml:"Messages>Message"`
	Error     xmlError `xml:"Error"`
	RequestID string   `xml:"RequestId"`
}
