import { ARTIFACT_TRANSPORTS, TRANSPORT_CHOICES, type ArtifactTransport, type TransportChoice } from '@hotswap/contracts';
import { InvalidCommandError } from '../errors.js';
import { show } from '../validation.js';

/**
 * How one device receives an artifact: a distribution that forces `http` or `nats` is obeyed;
 * `auto` (or no choice) follows the device's `transport` capability, and a device that reports
 * none is an HTTP device (every agent before the NATS transport was).
 * @throws InvalidCommandError for a value outside the vocabularies, naming the field
 */
export function chooseArtifactTransport(requested: TransportChoice | undefined, deviceCapability: ArtifactTransport | undefined): ArtifactTransport {
  const choice = requested ?? 'auto';
  if (!TRANSPORT_CHOICES.includes(choice)) throw new InvalidCommandError(`transport must be one of ${TRANSPORT_CHOICES.join(', ')}, got ${show(requested)}`);
  if (choice !== 'auto') return choice;
  const capability = deviceCapability ?? 'http';
  if (!ARTIFACT_TRANSPORTS.includes(capability)) {
    throw new InvalidCommandError(`capabilities.transport must be one of ${ARTIFACT_TRANSPORTS.join(', ')}, got ${show(deviceCapability)}`);
  }
  return capability;
}

/** What a distribution records of its request's `transport`: a forced transport, or nothing for `auto`. */
export function forcedArtifactTransport(subject: string, requested: unknown): ArtifactTransport | undefined {
  if (requested === undefined || requested === 'auto') return undefined;
  if (!ARTIFACT_TRANSPORTS.includes(requested as ArtifactTransport)) {
    throw new InvalidCommandError(`${subject}: transport must be one of ${TRANSPORT_CHOICES.join(', ')}, got ${show(requested)}`);
  }
  return requested as ArtifactTransport;
}
