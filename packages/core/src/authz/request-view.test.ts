import { describe, expect, it } from 'vitest'
import type { AuthorizationRequest } from './authorization-request.js'
import { DESTINATION_IP, REMOTE_IP, RequestView, SOURCE_IP } from './request-view.js'

const base: AuthorizationRequest = {
  method: 'POST',
  path: '/p',
  query: '?q=1',
  host: 'Example.COM:8080',
  headers: { 'x-a': 'one', 'x-list': ['1', '2'], host: 'example.com' },
  source: { principal: 'td/ns/a/sa/b', ip: '::ffff:10.1.2.3' },
  destination: { ip: '2001:db8::1', port: 9080 },
  auth: { claims: { iss: 'i', nested: { list: ['x'] } } },
}

function viewOf(request: AuthorizationRequest = base): RequestView {
  const view = new RequestView()
  view.reset(request)
  return view
}

describe('RequestView', () => {
  it.each([
    ['x-a', 'one', 'Envoy: a header by name'],
    ['x-list', '1,2', 'Envoy: a repeated header joined with a comma'],
    ['x-none', undefined, 'Envoy: an absent header'],
    ['host', 'Example.COM:8080', 'Envoy: host is looked up as :authority'],
    [':authority', 'Example.COM:8080', 'Envoy: :authority is the host as received'],
    [':method', 'POST', 'Envoy: :method'],
    [':path', '/p?q=1', 'Envoy: :path keeps the query'],
    ['constructor', undefined, 'Weft: no inherited property is a header'],
  ])('header %s is %j (%s)', (name, expected, _behaviour) => {
    expect(viewOf().header(name)).toBe(expected)
  })

  it('Istio: the host is lower-cased once, port kept', () => {
    expect(viewOf().hostLowerCase()).toBe('example.com:8080')
  })

  it('Envoy: addresses parse lazily; remote defaults to the peer', () => {
    const view = viewOf()
    expect(view.ipVersion(SOURCE_IP)).toBe(4)
    expect(view.ipWords(SOURCE_IP)[0]).toBe(0x0a010203)
    expect(view.ipVersion(REMOTE_IP)).toBe(4)
    expect(view.ipVersion(DESTINATION_IP)).toBe(6)
  })

  it('Weft: reset forgets the previous request', () => {
    const view = viewOf()
    view.hostLowerCase()
    view.ipVersion(SOURCE_IP)
    view.reset({ ...base, host: 'Other', source: { ip: 'not-an-ip' } })
    expect(view.hostLowerCase()).toBe('other')
    expect(view.ipVersion(SOURCE_IP)).toBe(0)
  })

  it.each([
    [['iss'], 'i'],
    [['nested', 'list'], ['x']],
    [['nested', 'missing'], undefined],
    [['iss', 'length'], undefined],
    [['nested', 'list', '0'], undefined],
    [['toString'], undefined],
  ])('Envoy metadata path: claim %j is %j', (path, expected) => {
    expect(viewOf().claim(path)).toEqual(expected)
  })

  it('Istio: no token, no claims', () => {
    const { auth: _, ...anonymous } = base
    expect(viewOf(anonymous).claim(['iss'])).toBeUndefined()
  })
})
