import { CircuitBreaker } from './circuit-breaker';

describe('CircuitBreaker', () => {
  let now = 0;
  const breaker = () => new CircuitBreaker(3, 1000, () => now);

  beforeEach(() => {
    now = 10_000;
  });

  it('stays closed below the threshold and resets on success', () => {
    const circuit = breaker();
    circuit.failed();
    circuit.failed();
    expect(circuit.allowsRequest()).toBe(true);
    circuit.succeeded();
    circuit.failed();
    circuit.failed();
    expect(circuit.open).toBe(false);
  });

  it('opens after the threshold, then lets one probe through once the wait is over', () => {
    const circuit = breaker();
    for (let i = 0; i < 3; i += 1) circuit.failed();
    expect(circuit.open).toBe(true);
    expect(circuit.allowsRequest()).toBe(false);
    now += 999;
    expect(circuit.allowsRequest()).toBe(false);
    now += 1;
    expect(circuit.allowsRequest()).toBe(true);
    expect(circuit.allowsRequest()).toBe(false); // only one probe
    circuit.succeeded();
    expect(circuit.allowsRequest()).toBe(true);
  });

  it('opens again for a full wait when the probe fails', () => {
    const circuit = breaker();
    for (let i = 0; i < 3; i += 1) circuit.failed();
    now += 1000;
    expect(circuit.allowsRequest()).toBe(true);
    circuit.failed();
    now += 500;
    expect(circuit.allowsRequest()).toBe(false);
    now += 500;
    expect(circuit.allowsRequest()).toBe(true);
  });
});
