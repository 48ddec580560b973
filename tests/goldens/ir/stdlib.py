def _decide(ctx, _fallback=None, _given=None):
    try:
        if ctx.__class__ is not _dict:
            return _fallback(ctx)
        _c1 = 0
        _s0 = ctx.get('user')
        if _s0 is None:
            _s0 = _EMPTY
        else:
            _c1 += 1
            if _s0.__class__ is not _dict:
                return _fallback(ctx)
        _c2 = 0
        _s1 = _s0.get('id')
        if _s1 is not None:
            _c2 += 1
            if _s1.__class__ is not _str or _len(_s1) > 256:
                return _fallback(ctx)
        _s2 = _s0.get('age')
        if _s2 is not None:
            _c2 += 1
            if _s2.__class__ is not _int or _s2 < 0:
                return _fallback(ctx)
        _s3 = _s0.get('parental_consent')
        if _s3 is None:
            _s3 = False
        else:
            _c2 += 1
            if _s3.__class__ is not _bool:
                return _fallback(ctx)
        _s4 = _s0.get('prior_violations')
        if _s4 is None:
            _s4 = 0
        else:
            _c2 += 1
            if _s4.__class__ is not _int or _s4 < 0:
                return _fallback(ctx)
        _s5 = _s0.get('restricted')
        if _s5 is None:
            _s5 = False
        else:
            _c2 += 1
            if _s5.__class__ is not _bool:
                return _fallback(ctx)
        if _len(_s0) != _c2 and (not _s0.keys() <= _N0):
            return _fallback(ctx)
        _s6 = ctx.get('use')
        if _s6 is None:
            _s6 = _EMPTY
        else:
            _c1 += 1
            if _s6.__class__ is not _dict:
                return _fallback(ctx)
        _c3 = 0
        _s7 = _s6.get('domain')
        if _s7 is None:
            _s7 = 'general'
        else:
            _c3 += 1
            if _s7 not in _M1:
                return _fallback(ctx)
        _s8 = _s6.get('professional_oversight')
        if _s8 is None:
            _s8 = False
        else:
            _c3 += 1
            if _s8.__class__ is not _bool:
                return _fallback(ctx)
        _s9 = _s6.get('legally_permitted')
        if _s9 is None:
            _s9 = False
        else:
            _c3 += 1
            if _s9.__class__ is not _bool:
                return _fallback(ctx)
        if _len(_s6) != _c3 and (not _s6.keys() <= _N2):
            return _fallback(ctx)
        _s10 = ctx.get('content')
        if _s10 is None:
            _s10 = _EMPTY
        else:
            _c1 += 1
            if _s10.__class__ is not _dict:
                return _fallback(ctx)
        _c4 = 0
        _s11 = _s10.get('categories')
        if _s11 is None:
            _s11 = _K3
        else:
            _c4 += 1
            if _s11.__class__ not in _SEQS or _len(_s11) > 10000:
                return _fallback(ctx)
        _s12 = _s10.get('subject_consent')
        if _s12 is None:
            _s12 = False
        else:
            _c4 += 1
            if _s12.__class__ is not _bool:
                return _fallback(ctx)
        _s13 = _s10.get('guardian_consent')
        if _s13 is None:
            _s13 = False
        else:
            _c4 += 1
            if _s13.__class__ is not _bool:
                return _fallback(ctx)
        if _len(_s10) != _c4 and (not _s10.keys() <= _N4):
            return _fallback(ctx)
        if _len(ctx) != _c1 and (not ctx.keys() <= _N5):
            return _fallback(ctx)
        _fired = []
        if not _s2 is not None:
            _fired.append(14)
        if _s5:
            _fired.append(51)
        _fired += _IA6.get(_s7, _K7)
        _k5 = _IR8.get(_s7)
        if _k5 is not None:
            if _k5 < 1:
                if _s8:
                    _fired.append(18)
                if not _s8:
                    _fired.append(19)
            else:
                if not _s9:
                    _fired.append(21)
                if _s9:
                    _fired.append(22)
        for _e6 in _s11:
            _fired += _IA9[_e6]
            _v7 = _IR10.get(_e6)
            if _v7 is not None:
                if _v7[0] < 2:
                    if _v7[0] < 1:
                        if not _s12:
                            _fired.append(_v7[1])
                    elif _s7 in _v7[2] and (not _s9):
                        _fired.append(_v7[1])
                elif _v7[0] < 3:
                    if _s8:
                        _fired.append(_v7[1])
                    if not _s8:
                        _fired.append(_v7[2])
                elif _v7[0] < 4:
                    if not _s13:
                        _fired.append(_v7[1])
                else:
                    if not _s9:
                        _fired.append(_v7[1])
                    if _s9:
                        _fired.append(_v7[2])
        if _s2 is not None:
            _k8 = _bisect_right(_K11, _s2)
            _k9 = _IR12.get(_k8)
            if _k9 is not None:
                if not _s3:
                    _fired.append(26)
        if not _fired:
            _entry = _NONE
        elif _len(_fired) == 1:
            _entry = _ONE[_fired[0]]
        else:
            _fired.sort()
            _entry = _several(_fired)
        _f = _entry[0]
        if _f[0]:
            _o0 = 'none'
        elif _f[1]:
            _o0 = 'none'
        elif _f[2]:
            _o0 = 'suspend_and_report'
        elif _s4 >= 1 and _f[3]:
            _o0 = 'restrict_account'
        elif _s4 >= 3:
            _o0 = 'restrict_account'
        elif _s4 >= 1:
            _o0 = 'remove_content'
        else:
            _o0 = 'warn'
        if _entry.__class__ is _tuple:
            return _make_decision((_entry[1], _entry[2], _entry[3], _entry[4], _entry[5], (('enforcement', _o0),), None))
        _d = _entry[1].get(_o0)
        if _d is None:
            _d = _finish(_entry, _o0)
        return _d
    except _Errors:
        return _fallback(ctx)

def _flags(_decision, _fired):
    return (_decision != 'deny', not _any((_v10['effect'] == 'deny' and 'severity' in _v10 for _v10 in _fired)), _any((_v11['effect'] == 'deny' and 'severity' in _v11 and (_v11['severity'] == 'critical') for _v11 in _fired)), _any((_v12['effect'] == 'deny' and 'severity' in _v12 and (_v12['severity'] == 'high') for _v12 in _fired)))

def _rule_bits(_r):
    return _sum((1 if _r['effect'] == 'deny' and 'severity' in _r else 0, 2 if _r['effect'] == 'deny' and 'severity' in _r and (_r['severity'] == 'critical') else 0, 4 if _r['effect'] == 'deny' and 'severity' in _r and (_r['severity'] == 'high') else 0))

def _flags_masks(_decision, _some, _every):
    _qs0 = _some & 1 != 0
    _qs1 = _some & 2 != 0
    _qs2 = _some & 4 != 0
    return (_decision != 'deny', not _qs0, _qs1, _qs2)
