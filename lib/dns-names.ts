/**
 * The names Kubernetes accepts (apimachinery's IsDNS1123Label and IsDNS1123Subdomain), one definition for the
 * inventory's checks and for the validation of synthesized manifests. A leaf: it imports nothing.
 */

/** Lower-case letters, digits and "-", starting and ending with a letter or digit. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS_LABEL_MAX_LENGTH = 63;

/** DNS labels joined by ".". */
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const DNS_SUBDOMAIN_MAX_LENGTH = 253;
