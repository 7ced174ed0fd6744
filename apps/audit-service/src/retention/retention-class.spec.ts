import { retentionClassOf } from './retention-class';

describe('retention class of an audit action', () => {
  it.each([
    ['api.request', 'security-operations'],
    ['risk.score-changed', 'security-operations'],
    ['gateway.rate-limited', 'security-operations'],
    ['user.signed-in', 'default'],
    ['service.started', 'default'],
    ['audit.searched', 'compliance'],
    ['audit.retention-expired', 'compliance'],
    ['crypto.key-rotated', 'compliance'],
    ['dsr.erasure-completed', 'compliance'],
    ['user.deleted', 'compliance'],
    ['role.granted', 'compliance'],
    ['apiary.visited', 'default'],
  ])('%s is kept under %s', (action, expected) => {
    expect(retentionClassOf(action)).toBe(expected);
  });
});
