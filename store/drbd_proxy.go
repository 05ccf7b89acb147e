package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"

	"strata/apicall"
)

// FlagLocalDrbdProxy marks a resource connection that runs through DRBD
// Proxy on both its nodes (LINSTOR's LOCAL_DRBD_PROXY).
const FlagLocalDrbdProxy = "LOCAL_DRBD_PROXY"

// Properties of DRBD Proxy on a definition: the compression plug-in and
// its options, and the proxy's own options.
const (
	KeyDrbdProxyCompressionType = "DrbdProxy/CompressionType"
	DrbdProxyCompressionPrefix  = "DrbdOptions/ProxyCompression/"
	DrbdProxyOptionsPrefix      = "DrbdOptions/Proxy/"
)

// KeyDrbdProxyAutoEnable and KeySite: with AutoEnable true (resource,
// definition, node or controller), a new resource's connections to the
// resources on nodes of another Site run through DRBD Proxy.
const (
	KeyDrbdProxyAutoEnable = "DrbdProxy/AutoEnable"
	KeySite                = "Site"
)

// DrbdProxyCompressions are the compression plug-ins of DRBD Proxy.
var DrbdProxyCompressions = []string{"none", "zlib", "lzma", "lz4", "zstd"}

// tcpPortUsed says whether a definition or a proxied connection holds port.
func tcpPortUsed(tx *gorm.DB, port int32) (bool, error) {
	for _, c := range tcpPorts {
		var n int64
		if err := tx.Model(c.model).Where(c.column+" = ?", port).Count(&n).Error; err != nil {
			return false, err
		}
		if n > 0 {
			return true, nil
		}
	}
	return false, nil
}

// SetDrbdProxy has the connection between the resources of rd on nodes a
// and b run through DRBD Proxy (enable), on port or on one of the TCP
// port pool, or no longer (disable). The connection is made when there
// is none.
func (s *Store) SetDrbdProxy(ctx context.Context, rd, a, b string, enable bool, port *int32) (ResourceConnectionRow, error) {
	var row ResourceConnectionRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = resourceConnection(tx, rd, a, b); err != nil {
			return err
		}
		row, err = setProxy(tx, row, enable, port)
		return err
	})
	return row, err
}

// setProxy enables or disables DRBD Proxy on a resource connection: on
// port, or on the connection's port, or on one of the TCP port pool.
func setProxy(tx *gorm.DB, row ResourceConnectionRow, enable bool, port *int32) (ResourceConnectionRow, error) {
	switch {
	case !enable:
		row.Flags, row.TCPPort = row.Flags.Without(FlagLocalDrbdProxy), nil
	case port != nil:
		if row.TCPPort == nil || *row.TCPPort != *port {
			used, err := tcpPortUsed(tx, *port)
			if err != nil {
				return row, err
			}
			if used || *port < 1 || *port > 65535 {
				return row, &Error{Problem: Invalid, Kind: KindResourceConnection, Code: apicall.FailInvldRscPort,
					Message: fmt.Sprintf("The specified TCP port '%d' is invalid.", *port), Cause: "It is outside 1-65535 or in use by a resource definition or another proxied connection."}
			}
		}
		row.TCPPort = port
	case row.TCPPort == nil:
		p, err := allocate(tx, KeyTcpPortAutoRange, defaultTcpPortRange, KindResourceConnection, "TCP port", apicall.FailPoolExhaustedTCPPort, tcpPorts...)
		if err != nil {
			return row, err
		}
		row.TCPPort = &p
	}
	if enable {
		row.Flags = row.Flags.With(FlagLocalDrbdProxy)
	}
	return row, tx.Model(&row).Select("flags", "tcp_port").Updates(&row).Error
}

// drbdProxyProps are the options of DRBD Proxy (object drbd-proxy) and
// of its compression plug-ins (drbd-proxy-<type>), as LINSTOR's property
// list has them; they are set only through the definition's drbd-proxy
// modify, never as plain definition properties.
var drbdProxyProps = []propRule{
	{key: DrbdProxyOptionsPrefix + "memlimit", typ: "range", values: "16777216..9223372036854775807", dflt: "16777216", unit: "1bytes", objects: "drbd-proxy"},
	{key: DrbdProxyOptionsPrefix + "ping-timeout", typ: "range", values: "1..300", dflt: "200", unit: "1/10 seconds", objects: "drbd-proxy"},
	{key: DrbdProxyOptionsPrefix + "rcvbuf-size", typ: "range", values: "0..10485760", dflt: "0", unit: "1bytes", objects: "drbd-proxy"},
	{key: DrbdProxyOptionsPrefix + "read-loops", typ: "range", values: "0..2147483647", dflt: "0", objects: "drbd-proxy"},
	{key: DrbdProxyOptionsPrefix + "sndbuf-size", typ: "range", values: "0..10485760", dflt: "0", unit: "1bytes", objects: "drbd-proxy"},
	{key: DrbdProxyCompressionPrefix + "level", typ: "range", values: "1..22", dflt: "3", objects: "drbd-proxy-zstd"},
	{key: DrbdProxyCompressionPrefix + "level", typ: "range", values: "1..9", dflt: "2", objects: "drbd-proxy-zlib"},
	{key: DrbdProxyCompressionPrefix + "level", typ: "range", values: "1..9", dflt: "4", objects: "drbd-proxy-lzma"},
	{key: DrbdProxyCompressionPrefix + "contexts", typ: "range", values: "1..253", objects: "drbd-proxy-lzma"},
	{key: DrbdProxyCompressionPrefix + "depth", typ: "range", values: "0..1000", dflt: "0", objects: "drbd-proxy-lzma"},
	{key: DrbdProxyCompressionPrefix + "dict-size", typ: "range", values: "4096..1610612736", dflt: "32768", objects: "drbd-proxy-lzma"},
	{key: DrbdProxyCompressionPrefix + "fallback-to-zlib", typ: "symbol", values: "off / on", dflt: "off", objects: "drbd-proxy-lzma"},
	{key: DrbdProxyCompressionPrefix + "lc", typ: "range", values: "0..4", dflt: "3", objects: "drbd-proxy-lzma"},
	{key: DrbdProxyCompressionPrefix + "lp", typ: "range", values: "0..4", dflt: "0", objects: "drbd-proxy-lzma"},
	{key: DrbdProxyCompressionPrefix + "mf", typ: "symbol", values: "hc4 / hc3 / bt2 / bt3 / bt4", dflt: "hc3", objects: "drbd-proxy-lzma"},
	{key: DrbdProxyCompressionPrefix + "mode", typ: "symbol", values: "fast / normal", dflt: "fast", objects: "drbd-proxy-lzma"},
	{key: DrbdProxyCompressionPrefix + "nice-len", typ: "range", values: "0..273", dflt: "273", objects: "drbd-proxy-lzma"},
	{key: DrbdProxyCompressionPrefix + "numa-threshold", typ: "range", values: "0..253", dflt: "0", objects: "drbd-proxy-lzma"},
	{key: DrbdProxyCompressionPrefix + "pb", typ: "range", values: "0..4", dflt: "2", objects: "drbd-proxy-lzma"},
}

// DrbdProxyPropertiesInfo lists DRBD Proxy's options and those of its
// compression plug-ins.
func DrbdProxyPropertiesInfo() map[string]PropInfo {
	out := map[string]PropInfo{}
	for _, r := range drbdProxyProps {
		if _, ok := out[r.key]; !ok || r.objects == "drbd-proxy-zlib" {
			out[r.key] = r.propInfo()
		}
	}
	return out
}

// DrbdProxyChange is LINSTOR's drbd-proxy modify of a definition: proxy
// options to set or delete, and a compression plug-in (nil: unchanged;
// "none": none) with its options, which replace the previous ones.
type DrbdProxyChange struct {
	Options            map[string]string
	Delete             []string
	Compression        *string
	CompressionOptions map[string]string
}

// proxyKey is an option's full key: LINSTOR's client sends the bare
// option name or the full key.
func proxyKey(prefix, key string) string {
	if strings.HasPrefix(key, "DrbdOptions/") {
		return key
	}
	return prefix + key
}

// checkProxyProp validates an option against the rules of object.
func checkProxyProp(object, key, value string) *Error {
	for _, r := range rulesByKey[key] {
		if r.objects != object {
			continue
		}
		if why := r.check(value); why != "" {
			return invalidProp(KindResourceDefinition, key, value, why, "")
		}
		return nil
	}
	e := refuse(Invalid, KindResourceDefinition, fmt.Sprintf("The key '%s' is not whitelisted for %s.", key, object), "", "See GET …/drbd-proxy/properties/info.")
	e.Code = apicall.FailInvldProp
	return e
}

// ModifyDrbdProxy changes a definition's DRBD Proxy options and
// compression, in one transaction.
func (s *Store) ModifyDrbdProxy(ctx context.Context, rd string, c DrbdProxyChange) (ResourceDefinitionRow, error) {
	set := map[string]string{}
	for k, v := range c.Options {
		k = proxyKey(DrbdProxyOptionsPrefix, k)
		if err := checkProxyProp("drbd-proxy", k, v); err != nil {
			return ResourceDefinitionRow{}, err
		}
		set[k] = v
	}
	m := PropsModify{OverrideProps: set}
	for _, k := range c.Delete {
		k = proxyKey(DrbdProxyOptionsPrefix, k)
		if err := checkPropKey(KindResourceDefinition, k); err != nil {
			return ResourceDefinitionRow{}, err
		}
		m.DeleteProps = append(m.DeleteProps, k)
	}
	if c.Compression != nil {
		typ := strings.ToLower(*c.Compression)
		if !slices.Contains(DrbdProxyCompressions, typ) {
			return ResourceDefinitionRow{}, &Error{Problem: Invalid, Kind: KindResourceDefinition, Code: apicall.FailInvldDrbdProxyCompressionType,
				Message: fmt.Sprintf("Unknown compression type '%s'", apicall.Clip(*c.Compression)), Correction: "Use one of: " + strings.Join(DrbdProxyCompressions, ", ") + "."}
		}
		m.DeleteNamespaces = []string{DrbdProxyCompressionPrefix}
		if typ == "none" {
			m.DeleteProps = append(m.DeleteProps, KeyDrbdProxyCompressionType)
		} else {
			set[KeyDrbdProxyCompressionType] = typ
			for k, v := range c.CompressionOptions {
				k = proxyKey(DrbdProxyCompressionPrefix, k)
				if err := checkProxyProp("drbd-proxy-"+typ, k, v); err != nil {
					return ResourceDefinitionRow{}, err
				}
				set[k] = v
			}
		}
	}
	var row ResourceDefinitionRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = takeResourceDefinition(tx, rd); err != nil {
			return err
		}
		return applyProps(tx, ResourceDefinitionInstance(rd), m)
	})
	return row, err
}

// autoDrbdProxy enables DRBD Proxy on the connections of a new resource
// to its definition's resources on nodes of another Site, where
// DrbdProxy/AutoEnable says so (the guide's "Automatically Enabling DRBD
// Proxy"); each connection gets a port of the TCP port pool.
func autoDrbdProxy(tx *gorm.DB, rd ResourceDefinitionRow, rsc ResourceRow) error {
	chain := make([]map[string]string, 0, 4)
	for _, inst := range []string{ResourceInstance(rd.ResourceName, rsc.NodeName), ResourceDefinitionInstance(rd.ResourceName), NodeInstance(rsc.NodeName), CtrlPropsInstance} {
		p, err := readProps(tx, inst)
		if err != nil {
			return err
		}
		chain = append(chain, p)
	}
	if !strings.EqualFold(Inherited(KeyDrbdProxyAutoEnable, chain...), "true") {
		return nil
	}
	site := chain[2][KeySite]
	var peers []ResourceRow
	if err := tx.Where("resource_name = ? AND node_name <> ?", rd.ResourceName, rsc.NodeName).Find(&peers).Error; err != nil {
		return err
	}
	for _, p := range peers {
		if p.Flags.Has(FlagDelete) {
			continue
		}
		props, err := readProps(tx, NodeInstance(p.NodeName))
		if err != nil {
			return err
		}
		if props[KeySite] == site {
			continue
		}
		row, err := resourceConnection(tx, rd.ResourceName, rsc.NodeName, p.NodeName)
		if err != nil {
			return err
		}
		if _, err := setProxy(tx, row, true, nil); err != nil {
			return err
		}
	}
	return nil
}
