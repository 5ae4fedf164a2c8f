(module
  (type 0 (func (param i32 i32 i32 i32 i32 i32) (result i32)))
  (type 1 (func (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (type 2 (func (param i32) (result i32)))
  (type 3 (func (param i32 i32 i32 i32) (result i32)))
  (type 4 (func (param f64 f64 f64) (result f64)))
  (import "env" "mem" (memory 17 17))
  (import "env" "load" (func 0 (type 0)))
  (import "env" "store" (func 1 (type 1)))
  (import "env" "step" (func 2 (type 2)))
  (export "run" (func 3))
  (func 3 (type 3) (export "run") (param i32 i32 i32 i32) (result i32)
    (local 4 i64) (local 5 i64) (local 6 i64) (local 7 i32) (local 8 i32) (local 9 i32) (local 10 i32) (local 11 i32) (local 12 i64) (local 13 i64) (local 14 i64) (local 15 i64) (local 16 i64) (local 17 i64) (local 18 i64) (local 19 i64) (local 20 i64) (local 21 i64) (local 22 f64) (local 23 f64) (local 24 f64) (local 25 f64) (local 26 f64) (local 27 f64) (local 28 f64) (local 29 f64) (local 30 f64) (local 31 f64) (local 32 f64) (local 33 f64) (local 34 f64) (local 35 f64) (local 36 f32) (local 37 f32) (local 38 f32) (local 39 i64) (local 40 i64) (local 41 i32) (local 42 i32)
    i32.const 0
    i64.load offset=512
    i64.const -4096
    i64.and
    local.set 4
    i32.const 0
    i64.load offset=8
    local.set 17
    i32.const 0
    i64.load offset=80
    local.set 18
    i32.const 0
    i64.load offset=336
    local.set 19
    i32.const 0
    i64.load offset=344
    local.set 20
    i32.const 0
    i64.load offset=352
    local.set 21
    local.get 2
    local.set 11
    local.get 4
    local.get 2
    i64.extend_i32_u
    i64.add
    local.set 5
    local.get 1
    i64.extend_i32_u
    local.set 12
    loop
      block
        block
          local.get 11
          i32.const 1
          i32.shr_u
          br_table 0 1
        end
        i32.const 0
        i32.load offset=584
        i32.const 24576
        i32.and
        i32.const 24576
        i32.eq
        if
          local.get 18
          i64.const 0
          i64.add
          local.set 6
          local.get 6
          i32.wrap_i64
          local.tee 7
          i32.const 8
          i32.shr_u
          i32.const 16368
          i32.and
          i32.const 4096
          i32.add
          local.tee 8
          i64.load
          local.get 6
          i64.const -4096
          i64.and
          local.get 12
          i64.or
          i64.eq
          local.get 7
          i32.const 4095
          i32.and
          i32.const 4088
          i32.le_u
          i32.and
          if (result i64)
            local.get 7
            local.get 8
            i32.load offset=8
            i32.add
            i64.load align=1
          else
            local.get 7
            local.get 6
            i64.const 32
            i64.shr_u
            i32.wrap_i64
            i32.const 3
            i32.const 84
            local.get 1
            local.get 10
            i32.const 0
            i32.add
            call 0
            local.tee 9
            if
              local.get 9
              i32.const 1
              i32.eq
              if
                local.get 4
                local.set 5
                local.get 10
                i32.const 1073741824
                i32.add
                local.set 10
              else
                i32.const 0
                i64.load offset=336
                local.set 19
                local.get 4
                i64.const 4
                i64.add
                local.set 5
                local.get 10
                i32.const 536870913
                i32.add
                local.set 10
              end
              br 3
            end
            i32.const 0
            i64.load offset=336
          end
          local.set 19
        else
          i32.const 0
          local.get 19
          i64.store offset=336
          i32.const 0
          local.get 4
          i64.store offset=512
          local.get 10
          i32.const 0
          i32.add
          call 2
          local.tee 9
          i32.const 0
          i64.load offset=336
          local.set 19
          if
            i32.const 0
            i64.load offset=512
            local.set 5
            local.get 10
            i32.const 536870912
            i32.add
            local.get 9
            i32.const 1
            i32.shr_u
            i32.add
            local.set 10
            br 2
          end
        end
        local.get 18
        i64.const 8
        i64.add
        local.set 6
        local.get 6
        i32.wrap_i64
        local.tee 7
        i32.const 8
        i32.shr_u
        i32.const 16368
        i32.and
        i32.const 4096
        i32.add
        local.tee 8
        i64.load
        local.get 6
        i64.const -4096
        i64.and
        local.get 12
        i64.or
        i64.eq
        local.get 7
        i32.const 4095
        i32.and
        i32.const 4088
        i32.le_u
        i32.and
        if (result i64)
          local.get 7
          local.get 8
          i32.load offset=8
          i32.add
          i64.load align=1
        else
          local.get 7
          local.get 6
          i64.const 32
          i64.shr_u
          i32.wrap_i64
          i32.const 3
          i32.const 86
          local.get 1
          local.get 10
          i32.const 1
          i32.add
          call 0
          local.tee 9
          if
            local.get 9
            i32.const 1
            i32.eq
            if
              local.get 4
              i64.const 4
              i64.add
              local.set 5
              local.get 10
              i32.const 1073741825
              i32.add
              local.set 10
            else
              i32.const 0
              i64.load offset=344
              local.set 20
              local.get 4
              i64.const 8
              i64.add
              local.set 5
              local.get 10
              i32.const 536870914
              i32.add
              local.set 10
            end
            br 2
          end
          i32.const 0
          i64.load offset=344
        end
        local.set 20
        i32.const 0
        i64.load offset=576
        i64.const -4294967295
        i64.and
        i64.const 1
        i64.eq
        local.tee 42
        local.get 19
        f64.reinterpret_i64
        local.get 20
        f64.reinterpret_i64
        f64.add
        local.set 24
        local.get 24
        i64.reinterpret_f64
        i64.const 9223372036854775807
        i64.and
        i64.const 4503599627370497
        i64.sub
        i64.const 9214364837600034815
        i64.lt_u
        i32.and
        if
          local.get 24
          i64.reinterpret_f64
          local.set 21
        else
          block
            block
              i32.const 0
              i32.load offset=580
              br_if 0
              local.get 19
              f64.reinterpret_i64
              local.set 22
              local.get 20
              f64.reinterpret_i64
              local.set 23
              local.get 22
              local.get 23
              f64.add
              local.set 24
              local.get 24
              local.get 24
              f64.sub
              f64.const 0
              f64.eq
              i32.eqz
              br_if 0
              i32.const 0
              i32.load offset=576
              i32.const 1
              i32.and
              i32.eqz
              local.set 41
              local.get 41
              local.get 22
              f64.abs
              f64.const 4.49423283715579e+307
              f64.lt
              local.get 23
              f64.abs
              f64.const 4.49423283715579e+307
              f64.lt
              i32.and
              local.get 24
              f64.abs
              f64.const 4.49423283715579e+307
              f64.lt
              i32.and
              i32.eqz
              i32.and
              br_if 0
              local.get 24
              i64.reinterpret_f64
              local.set 21
              local.get 41
              if
                local.get 22
                local.get 23
                local.get 24
                call 4
                f64.const 0
                f64.ne
                if
                  i32.const 0
                  i32.const 0
                  i32.load offset=576
                  i32.const 1
                  i32.or
                  i32.store offset=576
                end
              end
              br 1
            end
            i32.const 0
            local.get 19
            i64.store offset=336
            i32.const 0
            local.get 20
            i64.store offset=344
            i32.const 0
            local.get 21
            i64.store offset=352
            i32.const 0
            local.get 4
            i64.const 8
            i64.add
            i64.store offset=512
            local.get 10
            i32.const 2
            i32.add
            call 2
            local.tee 9
            i32.const 0
            i64.load offset=352
            local.set 21
            if
              i32.const 0
              i64.load offset=512
              local.set 5
              local.get 10
              i32.const 536870914
              i32.add
              local.get 9
              i32.const 1
              i32.shr_u
              i32.add
              local.set 10
              br 3
            end
          end
        end
        local.get 42
        local.get 21
        f64.reinterpret_i64
        local.set 22
        local.get 20
        f64.reinterpret_i64
        local.set 23
        local.get 19
        f64.reinterpret_i64
        local.set 24
        local.get 22
        local.get 23
        f64.mul
        local.set 25
        local.get 22
        i64.reinterpret_f64
        i64.const 9223372036854775807
        i64.and
        i64.const 553942754166571008
        i64.sub
        i64.const 8534321293867089920
        i64.lt_u
        i32.and
        local.get 23
        i64.reinterpret_f64
        i64.const 9223372036854775807
        i64.and
        i64.const 553942754166571008
        i64.sub
        i64.const 8534321293867089920
        i64.lt_u
        i32.and
        local.get 25
        i64.reinterpret_f64
        i64.const 9223372036854775807
        i64.and
        i64.const 553942754166571008
        i64.sub
        i64.const 8646911284551352320
        i64.lt_u
        i32.and
        local.get 24
        i64.reinterpret_f64
        i64.const 9223372036854775807
        i64.and
        i64.const 553942754166571008
        i64.sub
        i64.const 8646911284551352320
        i64.lt_u
        i32.and
        f64.const 134217729
        local.get 22
        f64.mul
        local.tee 34
        local.get 34
        local.get 22
        f64.sub
        f64.sub
        local.tee 30
        local.get 22
        local.get 30
        f64.sub
        local.set 31
        drop
        f64.const 134217729
        local.get 23
        f64.mul
        local.tee 34
        local.get 34
        local.get 23
        f64.sub
        f64.sub
        local.tee 32
        local.get 23
        local.get 32
        f64.sub
        local.set 33
        drop
        local.get 30
        local.get 32
        f64.mul
        local.get 25
        f64.sub
        local.get 30
        local.get 33
        f64.mul
        f64.add
        local.get 31
        local.get 32
        f64.mul
        f64.add
        local.get 31
        local.get 33
        f64.mul
        f64.add
        local.set 29
        local.get 25
        local.get 24
        f64.add
        local.set 26
        local.get 26
        local.get 25
        f64.sub
        local.set 30
        local.get 26
        local.get 30
        f64.sub
        local.set 31
        local.get 25
        local.get 31
        f64.sub
        local.get 24
        local.get 30
        f64.sub
        f64.add
        local.set 27
        local.get 27
        local.get 29
        f64.add
        local.set 28
        local.get 28
        local.get 27
        f64.sub
        local.set 30
        local.get 28
        local.get 30
        f64.sub
        local.set 31
        local.get 27
        local.get 31
        f64.sub
        local.get 29
        local.get 30
        f64.sub
        f64.add
        local.set 29
        local.get 26
        local.get 28
        i64.reinterpret_f64
        local.tee 39
        i64.const 1
        i64.const -1
        local.get 29
        f64.const 0
        f64.gt
        local.get 28
        f64.const 0
        f64.gt
        i32.eq
        select
        i64.const 0
        local.get 29
        f64.const 0
        f64.ne
        local.get 39
        i64.const 1
        i64.and
        i64.eqz
        i32.and
        select
        i64.add
        f64.reinterpret_i64
        f64.add
        local.set 35
        local.get 35
        i64.reinterpret_f64
        i64.const 9223372036854775807
        i64.and
        i64.const 4503599627370497
        i64.sub
        i64.const 9214364837600034815
        i64.lt_u
        i32.and
        if
          local.get 35
          i64.reinterpret_f64
          local.set 21
        else
          block
            block
              i32.const 0
              i32.load offset=580
              br_if 0
              i32.const 0
              i32.load offset=576
              i32.const 1
              i32.and
              i32.eqz
              br_if 0
              local.get 21
              f64.reinterpret_i64
              local.set 22
              local.get 20
              f64.reinterpret_i64
              local.set 23
              local.get 19
              f64.reinterpret_i64
              local.set 24
              local.get 22
              local.get 22
              f64.sub
              f64.const 0
              f64.eq
              local.get 23
              local.get 23
              f64.sub
              f64.const 0
              f64.eq
              i32.and
              local.get 24
              local.get 24
              f64.sub
              f64.const 0
              f64.eq
              i32.and
              i32.eqz
              br_if 0
              local.get 22
              local.get 23
              f64.mul
              local.set 25
              local.get 22
              f64.const 0
              f64.eq
              local.get 23
              f64.const 0
              f64.eq
              i32.or
              local.set 41
              local.get 22
              f64.abs
              local.tee 29
              f64.const 1.1830521861667747e-271
              f64.ge
              local.get 29
              f64.const 3.3484643974570854e+299
              f64.lt
              i32.and
              local.get 23
              f64.abs
              local.tee 29
              f64.const 1.1830521861667747e-271
              f64.ge
              local.get 29
              f64.const 3.3484643974570854e+299
              f64.lt
              i32.and
              i32.and
              local.get 25
              f64.abs
              local.tee 29
              f64.const 1.1830521861667747e-271
              f64.ge
              local.get 29
              f64.const 1.1235582092889474e+307
              f64.lt
              i32.and
              i32.and
              local.get 24
              f64.abs
              local.tee 29
              f64.const 1.1830521861667747e-271
              f64.ge
              local.get 29
              f64.const 1.1235582092889474e+307
              f64.lt
              i32.and
              local.get 24
              f64.const 0
              f64.eq
              i32.or
              i32.and
              local.get 41
              i32.or
              i32.eqz
              br_if 0
              local.get 41
              if (result f64)
                local.get 25
                local.get 24
                f64.add
              else
                local.get 22
                local.get 23
                local.get 25
                call 5
                local.set 29
                local.get 25
                local.get 24
                f64.add
                local.set 26
                local.get 25
                local.get 24
                local.get 26
                call 4
                local.set 27
                local.get 27
                local.get 29
                f64.add
                local.set 28
                local.get 27
                local.get 29
                local.get 28
                call 4
                local.set 29
                local.get 26
                local.get 28
                i64.reinterpret_f64
                local.tee 39
                i64.const 1
                i64.const -1
                local.get 29
                f64.const 0
                f64.gt
                local.get 28
                f64.const 0
                f64.gt
                i32.eq
                select
                i64.const 0
                local.get 29
                f64.const 0
                f64.ne
                local.get 39
                i64.const 1
                i64.and
                i64.eqz
                i32.and
                select
                i64.add
                f64.reinterpret_i64
                f64.add
              end
              local.tee 28
              f64.abs
              local.tee 29
              f64.const 2.2250738585072014e-308
              f64.gt
              local.get 28
              f64.const 0
              f64.eq
              i32.or
              local.get 29
              f64.const 4.49423283715579e+307
              f64.lt
              i32.and
              i32.eqz
              br_if 0
              local.get 28
              i64.reinterpret_f64
              local.set 21
              br 1
            end
            i32.const 0
            local.get 21
            i64.store offset=352
            i32.const 0
            local.get 20
            i64.store offset=344
            i32.const 0
            local.get 19
            i64.store offset=336
            i32.const 0
            local.get 4
            i64.const 12
            i64.add
            i64.store offset=512
            local.get 10
            i32.const 3
            i32.add
            call 2
            local.tee 9
            i32.const 0
            i64.load offset=352
            local.set 21
            if
              i32.const 0
              i64.load offset=512
              local.set 5
              local.get 10
              i32.const 536870915
              i32.add
              local.get 9
              i32.const 1
              i32.shr_u
              i32.add
              local.set 10
              br 3
            end
          end
        end
        local.get 18
        i64.const 16
        i64.add
        local.set 6
        local.get 6
        i32.wrap_i64
        local.tee 7
        i32.const 8
        i32.shr_u
        i32.const 16368
        i32.and
        i32.const 20480
        i32.add
        local.tee 8
        i64.load
        local.get 6
        i64.const -4096
        i64.and
        local.get 12
        i64.or
        i64.eq
        local.get 7
        i32.const 4095
        i32.and
        i32.const 4088
        i32.le_u
        i32.and
        if
          local.get 7
          local.get 8
          i32.load offset=8
          i32.add
          local.get 21
          i64.store align=1
        else
          local.get 7
          local.get 6
          i64.const 32
          i64.shr_u
          i32.wrap_i64
          i32.const 3
          local.get 21
          i32.wrap_i64
          local.get 21
          i64.const 32
          i64.shr_u
          i32.wrap_i64
          local.get 1
          local.get 10
          i32.const 4
          i32.add
          call 1
          local.tee 9
          if
            local.get 9
            i32.const 1
            i32.eq
            if
              local.get 4
              i64.const 16
              i64.add
              local.set 5
              local.get 10
              i32.const 1073741828
              i32.add
              local.set 10
            else
              local.get 4
              i64.const 20
              i64.add
              local.set 5
              local.get 10
              i32.const 536870917
              i32.add
              local.set 10
            end
            br 2
          end
        end
        local.get 17
        i64.const 0
        i64.add
        i64.const -2
        i64.and
        local.set 5
        local.get 4
        i64.const 24
        i64.add
        drop
        local.get 10
        i32.const 6
        i32.add
        local.set 10
        local.get 5
        local.get 4
        i64.xor
        i64.const 12
        i64.shr_u
        i64.eqz
        local.get 10
        local.get 3
        i32.lt_s
        i32.and
        if
          local.get 5
          i32.wrap_i64
          i32.const 4095
          i32.and
          local.set 11
          br 2
        end
        br 0
      end
      i32.const 0
      local.get 5
      i64.store offset=512
      i32.const 0
      local.get 19
      i64.store offset=336
      i32.const 0
      local.get 20
      i64.store offset=344
      i32.const 0
      local.get 21
      i64.store offset=352
      local.get 10
      return
    end
    i32.const 0
  )
  (func 4 (type 4) (param f64 f64 f64) (result f64)
    (local 3 f64) (local 4 f64)
    local.get 2
    local.get 0
    f64.sub
    local.set 3
    local.get 2
    local.get 3
    f64.sub
    local.set 4
    local.get 0
    local.get 4
    f64.sub
    local.get 1
    local.get 3
    f64.sub
    f64.add
  )
  (func 5 (type 4) (param f64 f64 f64) (result f64)
    (local 3 f64) (local 4 f64) (local 5 f64) (local 6 f64) (local 7 f64)
    f64.const 134217729
    local.get 0
    f64.mul
    local.tee 7
    local.get 7
    local.get 0
    f64.sub
    f64.sub
    local.tee 3
    local.get 0
    local.get 3
    f64.sub
    local.set 4
    drop
    f64.const 134217729
    local.get 1
    f64.mul
    local.tee 7
    local.get 7
    local.get 1
    f64.sub
    f64.sub
    local.tee 5
    local.get 1
    local.get 5
    f64.sub
    local.set 6
    drop
    local.get 3
    local.get 5
    f64.mul
    local.get 2
    f64.sub
    local.get 3
    local.get 6
    f64.mul
    f64.add
    local.get 4
    local.get 5
    f64.mul
    f64.add
    local.get 4
    local.get 6
    f64.mul
    f64.add
  )
)
