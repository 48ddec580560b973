def _decide(ctx, _fallback=None, _given=None):
    try:
        if ctx.__class__ is not _dict:
            return _fallback(ctx)
        _s0 = ctx.get('actor')
        if _s0.__class__ is not _dict:
            return _fallback(ctx)
        _s1 = _s0.get('id')
        if _s1.__class__ is not _str or _len(_s1) > 65536:
            return _fallback(ctx)
        _s2 = _s0.get('role')
        if _s2 not in _M0:
            return _fallback(ctx)
        if _len(_s0) != 2 and (not _s0.keys() <= _N1):
            return _fallback(ctx)
        _s3 = ctx.get('document')
        if _s3.__class__ is not _dict:
            return _fallback(ctx)
        _c3 = 1
        _s4 = _s3.get('owner_id')
        if _s4.__class__ is not _str or _len(_s4) > 65536:
            return _fallback(ctx)
        _s5 = _s3.get('level')
        if _s5 is None:
            _s5 = 'internal'
        else:
            _c3 += 1
            if _s5 not in _M2:
                return _fallback(ctx)
        if _len(_s3) != _c3 and (not _s3.keys() <= _N3):
            return _fallback(ctx)
        _s6 = ctx.get('share')
        if _s6.__class__ is not _dict:
            return _fallback(ctx)
        _c4 = 1
        _s7 = _s6.get('audience')
        if _s7 not in _M4:
            return _fallback(ctx)
        _s8 = _s6.get('recipients')
        if _s8 is None:
            _s8 = _K5
        else:
            _c4 += 1
            if _s8.__class__ not in _SEQS or _len(_s8) > 10000:
                return _fallback(ctx)
        for _e5 in _s8:
            if _e5.__class__ is not _str or _len(_e5) > 65536:
                return _fallback(ctx)
        _s8 = _tuple(_s8)
        _s9 = _s6.get('expires_days')
        if _s9 is not None:
            _c4 += 1
            if _s9.__class__ is not _int or _s9 < 1:
                return _fallback(ctx)
        if _len(_s6) != _c4 and (not _s6.keys() <= _N6):
            return _fallback(ctx)
        if _len(ctx) != 3 and (not ctx.keys() <= _N7):
            return _fallback(ctx)
        _fired = []
        if _s4 == _s1 or _s2 in _K8:
            _fired.append(1)
        if _s7 != 'external' and _any((not _v6.endswith('@example.com') for _v6 in _s8)):
            _fired.append(3)
        _fired += _IA9.get(_s5, _K5)
        _k7 = _IR10.get(_s5)
        if _k7 is not None:
            if _k7 < 1:
                if _s4 == _s1 or _s2 in _K8:
                    _fired.append(0)
                if _s7 not in _K11:
                    _fired.append(4)
            elif _k7 < 2:
                if _s7 not in _K12:
                    _fired.append(5)
            elif _s7 not in _M4:
                _fired.append(6)
        _k8 = _IR13.get(_s7)
        if _k8 is not None:
            if not (_s9 is not None and _s9 <= 30):
                _fired.append(2)
        if not _fired:
            return _NONE
        elif _len(_fired) == 1:
            return _ONE[_fired[0]]
        else:
            _fired.sort()
            return _several(_fired)
    except _Errors:
        return _fallback(ctx)

def _flags(_decision, _fired):
    return (_decision == 'forbid' and _any(('risk' in _v9 and _v9['risk'] == 'high' for _v9 in _fired)), _decision == 'forbid', _any(('sensitive' in _v10['tags'] for _v10 in _fired)))

def _rule_bits(_r):
    return _sum((1 if 'risk' in _r and _r['risk'] == 'high' else 0, 2 if 'sensitive' in _r['tags'] else 0))

def _flags_masks(_decision, _some, _every):
    _qs0 = _some & 1 != 0
    _qs1 = _some & 2 != 0
    return (_decision == 'forbid' and _qs0, _decision == 'forbid', _qs1)

def _outputs(_f):
    if _f[0]:
        _o0 = 'alert'
    elif _f[1]:
        _o0 = 'logged'
    elif _f[2]:
        _o0 = 'logged'
    else:
        _o0 = 'quiet'
    return (_o0,)
