// Wire formats: views over byte arrays, their emitters, checksums and address text forms.
export * from './address';
export * from './arp';
export * from './bytes';
export * from './checksum';
export * from './ethernet';
export * from './icmpv4';
export * from './icmpv6';
export * from './ipv4';
export * from './ipv6';
export * from './tcp';
export * from './prefix';
export * from './segmentation';
export * from './udp';
export * from './view';
export * from './vnet-header';
export * from './vxlan';
export * from './frame-text';
